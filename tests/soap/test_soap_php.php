<?php
// SPDX-License-Identifier: GPL-3.0-or-later
/*
 * PHP's ext/soap SoapClient against the real server, in WSDL mode from
 * GET /soap?wsdl: every operation over SOAP 1.1 and SOAP 1.2 (soap_version),
 * the values in each answer (numbers, dates in UTC, absent optional fields),
 * repeated elements with none, one and several items with and without
 * SOAP_SINGLE_ELEMENT_ARRAYS, Faults (faultcode and the ServiceFault detail
 * code), and the three ways to present a key: a Bearer header through a
 * stream context, HTTP Basic through the login/password options, and a
 * WS-Security UsernameToken built as a SoapHeader.
 *
 * Usage: php test_soap_php.php BASE_URL (a server started with the keys of
 * tests/soap/CMakeLists.txt). Exits 0 when every check passed.
 */
declare(strict_types=1);
error_reporting(E_ALL);
set_error_handler(function (int $no, string $str, string $file, int $line): bool {
    throw new ErrorException($str, 0, $no, $file, $line);
});

$base = $argv[1] ?? '';
if ($base === '') {
    fwrite(STDERR, "usage: php test_soap_php.php BASE_URL\n");
    exit(2);
}
$wsdl = "$base/soap?wsdl";
const WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
const PASSWORD_TEXT = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

$checks = 0;
function check(bool $ok, string $what, $got = null): void
{
    global $checks;
    $checks++;
    if (!$ok) {
        fwrite(STDERR, "FAIL: $what\n" . ($got === null ? '' : var_export($got, true) . "\n"));
        exit(1);
    }
}

function client(int $version, array $extra = []): SoapClient
{
    global $wsdl;
    return new SoapClient($wsdl, $extra + [
        'soap_version' => $version,
        'exceptions' => true,
        'trace' => true,
        'cache_wsdl' => WSDL_CACHE_NONE,
        'connection_timeout' => 10,
    ]);
}

function bearer(string $secret): array
{
    return ['stream_context' => stream_context_create(
        ['http' => ['header' => "Authorization: Bearer $secret", 'timeout' => 30]])];
}

/* The UsernameToken header as a client builds it by hand: ext/soap has no
 * WS-Security support, so the header is literal XML in a SoapVar. */
function wsse_header(string $name, string $secret): SoapHeader
{
    $xml = '<wsse:Security xmlns:wsse="' . WSSE . '"><wsse:UsernameToken>'
        . '<wsse:Username>' . htmlspecialchars($name, ENT_XML1) . '</wsse:Username>'
        . '<wsse:Password Type="' . PASSWORD_TEXT . '">' . htmlspecialchars($secret, ENT_XML1)
        . '</wsse:Password></wsse:UsernameToken></wsse:Security>';
    return new SoapHeader(WSSE, 'Security', new SoapVar($xml, XSD_ANYXML), true);
}

/* Calls $call, which must throw a SoapFault with the contract's $code in
 * the ServiceFault detail and faultcode Client (1.1) / Sender (1.2). */
function expect_fault(callable $call, string $code, int $version, string $what): SoapFault
{
    try {
        $call();
    } catch (SoapFault $f) {
        $want = $version === SOAP_1_1 ? 'Client' : 'Sender';
        check(preg_match('/(^|:)' . $want . '$/', (string)$f->faultcode) === 1,
            "$what: faultcode $want", $f->faultcode);
        check(isset($f->detail->ServiceFault->code), "$what: ServiceFault detail", $f->detail ?? null);
        check($f->detail->ServiceFault->code === $code, "$what: code $code", $f->detail);
        check($f->detail->ServiceFault->message === $f->faultstring,
            "$what: detail message = faultstring", [$f->detail, $f->faultstring]);
        check($f->getMessage() === $f->faultstring, "$what: exception message", $f->getMessage());
        return $f;
    }
    check(false, "$what: expected a $code SoapFault");
    throw new LogicException('unreachable');
}

function station(string $id, string $city, array $more = []): array
{
    return $more + ['id' => $id, 'name' => 'PHP station', 'city' => $city, 'country' => 'DE',
        'latitude' => 50.0379, 'longitude' => 8.5622];
}

function exercise(int $version): void
{
    $v = $version === SOAP_1_1 ? '11' : '12';
    $p = "php$v-";
    $city = "Phpstadt$v";
    $admin = client($version, bearer('adm1n-secret'));
    $arrays = client($version, bearer('adm1n-secret') + ['features' => SOAP_SINGLE_ELEMENT_ARRAYS]);

    // The WSDL describes both ports; SoapClient lists every operation once per port.
    $functions = $admin->__getFunctions();
    check(count($functions) === 20, 'ten operations on two ports', $functions);
    foreach (['ListStations', 'GetStation', 'CreateStation', 'UpdateStation', 'DeleteStation',
        'RecordObservations', 'GetObservations', 'GetWeather', 'GetCityWeather',
        'GetObservationFeed'] as $op) {
        check(in_array("{$op}Response $op($op \$parameters)", $functions, true), "function $op", $functions);
    }

    // CreateStation: numbers come back as floats, the optional elevation
    // present when sent and absent (not null, not 0) when not.
    $a = $admin->CreateStation(['station' => station($p . 'a', $city, ['elevation' => 111.5,
        'name' => 'Frankfurt/Main Flughafen (Zürich-Süd) & <Co>'])])->station;
    check($a->id === $p . 'a' && $a->latitude === 50.0379 && $a->longitude === 8.5622,
        'CreateStation values', $a);
    check($a->elevation === 111.5, 'elevation present', $a);
    check($a->name === 'Frankfurt/Main Flughafen (Zürich-Süd) & <Co>', 'UTF-8 and markup round-trip', $a);
    // With soap_version, ext/soap uses the WSDL port of that version.
    $ct = $version === SOAP_1_1 ? 'Content-Type: text/xml' : 'Content-Type: application/soap+xml';
    check(strpos($admin->__getLastRequestHeaders(), $ct) !== false, 'request version', $admin->__getLastRequestHeaders());
    check(strpos($admin->__getLastResponseHeaders(), $ct) !== false, 'answer version', $admin->__getLastResponseHeaders());
    $response = $admin->__getLastResponse();
    check(strpos($response, '>50.0379<') !== false, 'shortest double text on the wire', $response);
    check(strpos($response, 'xsi:nil') === false, 'no xsi:nil', $response);
    $b = $admin->CreateStation(['station' => station($p . 'b', $city)])->station;
    check(!property_exists($b, 'elevation'), 'absent elevation is no property', $b);
    $admin->CreateStation(['station' => station($p . 'c', $city, ['country' => 'AT'])]);

    expect_fault(fn() => $admin->CreateStation(['station' => station($p . 'a', $city)]),
        'ALREADY_EXISTS', $version, 'duplicate CreateStation');
    $f = expect_fault(fn() => $admin->CreateStation(['station' => station($p . 'x', $city, ['latitude' => 95.0])]),
        'INVALID_ARGUMENT', $version, 'latitude out of range');
    check(strpos($f->faultstring, 'latitude') !== false, 'INVALID_ARGUMENT names the field', $f->faultstring);
    $http = $admin->__getLastResponseHeaders();
    check(strpos($http, $version === SOAP_1_1 ? ' 500 ' : ' 400 ') !== false, 'Fault HTTP status', $http);

    // GetStation, and NOT_FOUND.
    $got = $admin->GetStation(['id' => $p . 'a'])->station;
    check($got == $a, 'GetStation equals CreateStation answer', [$got, $a]);
    expect_fault(fn() => $admin->GetStation(['id' => $p . 'none']), 'NOT_FOUND', $version, 'GetStation unknown');

    // UpdateStation replaces every field: the omitted elevation becomes absent.
    $u = $admin->UpdateStation(['station' => station($p . 'a', $city, ['name' => 'Renamed', 'latitude' => -33.5])])->station;
    check($u->name === 'Renamed' && $u->latitude === -33.5 && !property_exists($u, 'elevation'),
        'UpdateStation replaces', $u);
    expect_fault(fn() => $admin->UpdateStation(['station' => station($p . 'none', $city)]),
        'NOT_FOUND', $version, 'UpdateStation unknown');

    // ListStations: several items are an array; ONE item is an object
    // unless SOAP_SINGLE_ELEMENT_ARRAYS; none is no property at all.
    $all = $admin->ListStations(['city' => $city]);
    check(is_array($all->station) && count($all->station) === 3, 'several stations: array', $all);
    check(array_map(fn($s) => $s->id, $all->station) === [$p . 'a', $p . 'b', $p . 'c'], 'ordered by id', $all);
    check(!property_exists($all, 'nextCursor'), 'last page has no nextCursor', $all);
    $one = $admin->ListStations(['city' => $city, 'country' => 'AT']);
    check(is_object($one->station) && $one->station->id === $p . 'c', 'one station: object by default', $one);
    $oneArr = $arrays->ListStations(['city' => $city, 'country' => 'AT']);
    check(is_array($oneArr->station) && count($oneArr->station) === 1 && $oneArr->station[0]->id === $p . 'c',
        'one station: array with SOAP_SINGLE_ELEMENT_ARRAYS', $oneArr);
    $none = $admin->ListStations(['city' => "Nowhere$v"]);
    check(!property_exists($none, 'station') && !property_exists($none, 'nextCursor'), 'no station: no property', $none);
    // Paging with limit and cursor.
    $seen = [];
    $cursor = null;
    do {
        $page = $arrays->ListStations(['city' => $city, 'limit' => 2] + ($cursor ? ['cursor' => $cursor] : []));
        foreach ($page->station as $s) {
            $seen[] = $s->id;
        }
        $cursor = $page->nextCursor ?? null;
    } while ($cursor !== null);
    check($seen === [$p . 'a', $p . 'b', $p . 'c'], 'paging visits every station once', $seen);
    expect_fault(fn() => $admin->ListStations(['limit' => 0]), 'INVALID_ARGUMENT', $version, 'limit 0');

    // RecordObservations: an array of observations, an offset converted to
    // UTC, a Unix timestamp (ext/soap formats ints as dateTime), and a single
    // observation given as one array.
    $rec = $admin->RecordObservations(['stationId' => $p . 'a', 'observation' => [
        ['observedAt' => '2024-03-01T09:00:00+01:00', 'temperature' => 4.5, 'humidity' => 80.0],
        ['observedAt' => 1709283600, 'temperature' => 6.25, 'precipitation' => 1.5,
            'windSpeed' => 3.2, 'windDirection' => 270.0, 'pressure' => 1013.25],
    ]]);
    check($rec->accepted === 2 && $rec->duplicates === 0, 'RecordObservations counts', $rec);
    check(is_int($rec->firstSeq) && $rec->lastSeq === $rec->firstSeq + 1, 'seq range', $rec);
    $dup = $admin->RecordObservations(['stationId' => $p . 'a', 'observation' =>
        ['observedAt' => '2024-03-01T08:00:00Z', 'temperature' => 4.5, 'humidity' => 80.0]]);
    check($dup->accepted === 0 && $dup->duplicates === 1, 'a duplicate', $dup);
    check(!property_exists($dup, 'firstSeq') && !property_exists($dup, 'lastSeq'), 'no seq for no write', $dup);
    expect_fault(fn() => $admin->RecordObservations(['stationId' => $p . 'a', 'observation' => [
        ['observedAt' => '2024-03-01T10:00:00Z', 'temperature' => 20.0],
        ['observedAt' => '2024-03-01T11:00:00Z', 'temperature' => 99.0]]]),
        'INVALID_ARGUMENT', $version, 'temperature out of range');
    expect_fault(fn() => $admin->RecordObservations(['stationId' => $p . 'none', 'observation' =>
        [['observedAt' => '2024-03-01T10:00:00Z']]]), 'NOT_FOUND', $version, 'RecordObservations unknown');

    // GetObservations: dates in UTC with Z, optional values absent, seq.
    $obs = $admin->GetObservations(['stationId' => $p . 'a']);
    check(is_array($obs->observation) && count($obs->observation) === 2, 'two observations', $obs);
    [$o1, $o2] = $obs->observation;
    check($o1->observedAt === '2024-03-01T08:00:00Z' && $o2->observedAt === '2024-03-01T09:00:00Z',
        'observedAt in UTC', $obs);
    check($o1->stationId === $p . 'a' && $o1->temperature === 4.5 && $o1->humidity === 80.0, 'first values', $o1);
    check(!property_exists($o1, 'pressure') && !property_exists($o1, 'precipitation'), 'absent values', $o1);
    check($o2->pressure === 1013.25 && $o2->windDirection === 270.0 && $o2->precipitation === 1.5, 'second values', $o2);
    check($o1->seq === $rec->firstSeq && $o2->seq === $rec->lastSeq, 'seq as int', $obs);
    $late = $admin->GetObservations(['stationId' => $p . 'a', 'from' => '2024-03-01T08:30:00Z']);
    check(is_object($late->observation) && $late->observation->seq === $rec->lastSeq, 'one observation: object', $late);
    $lateArr = $arrays->GetObservations(['stationId' => $p . 'a', 'from' => '2024-03-01T08:30:00Z']);
    check(count($lateArr->observation) === 1 && $lateArr->observation[0]->temperature === 6.25, 'one observation: array', $lateArr);
    $empty = $admin->GetObservations(['stationId' => $p . 'b']);
    check(!property_exists($empty, 'observation'), 'no observation: no property', $empty);
    expect_fault(fn() => $admin->GetObservations(['stationId' => $p . 'a', 'from' => 'yesterday']),
        'INVALID_ARGUMENT', $version, 'bad dateTime');

    // GetObservationFeed (1.1): after a seq, repeated <station>, lastSeq to
    // pass next time, headSeq; caught up: nothing, the same lastSeq.
    $feed = $arrays->GetObservationFeed(['afterSeq' => $rec->firstSeq - 1,
        'station' => [$p . 'a', $p . 'b'], 'limit' => 1]);
    check(count($feed->observation) === 1 && $feed->observation[0]->seq === $rec->firstSeq &&
        $feed->lastSeq === $rec->firstSeq && $feed->headSeq >= $rec->lastSeq, 'feed page', $feed);
    $feed = $arrays->GetObservationFeed(['afterSeq' => $feed->lastSeq, 'station' => [$p . 'a']]);
    check(count($feed->observation) === 1 && $feed->lastSeq === $rec->lastSeq, 'feed next page', $feed);
    $head = $feed->headSeq;
    $feed = $admin->GetObservationFeed(['afterSeq' => $head]);
    check(!property_exists($feed, 'observation') && $feed->lastSeq === $head, 'feed caught up', $feed);
    expect_fault(fn() => $admin->GetObservationFeed(['afterSeq' => $head + 1]),
        'INVALID_ARGUMENT', $version, 'afterSeq beyond the head');
    expect_fault(fn() => $admin->GetObservationFeed(['station' => [$p . 'none']]),
        'NOT_FOUND', $version, 'feed of an unknown station');

    // GetWeather: latest and the 24 h summary; a station without readings has neither.
    $w = $admin->GetWeather(['stationId' => $p . 'a'])->report;
    check($w->station->id === $p . 'a' && $w->latest->observedAt === '2024-03-01T09:00:00Z', 'latest', $w);
    check($w->last24h->count === 2 && $w->last24h->minTemperature === 4.5 &&
        $w->last24h->maxTemperature === 6.25 && $w->last24h->meanTemperature === 5.375 &&
        $w->last24h->totalPrecipitation === 1.5, 'last24h', $w);
    $wb = $admin->GetWeather(['stationId' => $p . 'b'])->report;
    check(!property_exists($wb, 'latest') && !property_exists($wb, 'last24h'), 'no readings', $wb);
    expect_fault(fn() => $admin->GetWeather(['stationId' => $p . 'none']), 'NOT_FOUND', $version, 'GetWeather unknown');

    // GetCityWeather: several reports, one report (object or array).
    $reports = $admin->GetCityWeather(['city' => $city])->report;
    check(is_array($reports) && array_map(fn($r) => $r->station->id, $reports) === [$p . 'a', $p . 'b', $p . 'c'],
        'city reports', $reports);
    $single = $admin->GetCityWeather(['city' => $city, 'country' => 'AT']);
    check(is_object($single->report) && $single->report->station->id === $p . 'c', 'one report: object', $single);
    $singleArr = $arrays->GetCityWeather(['city' => $city, 'country' => 'AT']);
    check(is_array($singleArr->report) && $singleArr->report[0]->station->id === $p . 'c', 'one report: array', $singleArr);
    expect_fault(fn() => $admin->GetCityWeather(['city' => "Nowhere$v"]), 'NOT_FOUND', $version, 'unknown city');

    // The `compression` option with a level compresses every request
    // (Content-Encoding gzip or deflate): the server decompresses it.
    foreach (['gzip' => SOAP_COMPRESSION_GZIP, 'deflate' => SOAP_COMPRESSION_DEFLATE] as $name => $method) {
        $zipped = client($version, bearer('adm1n-secret') + ['compression' => SOAP_COMPRESSION_ACCEPT | $method | 9]);
        $batch = [];
        for ($i = 0; $i < 28; $i++) {
            $batch[] = ['observedAt' => sprintf('2024-04-%02dT00:00:00Z', $i + 1), 'temperature' => $i / 4];
        }
        $res = $zipped->RecordObservations(['stationId' => $p . 'c', 'observation' => $batch]);
        check(stripos($zipped->__getLastRequestHeaders(), "Content-Encoding: $name") !== false,
            "$name request sent", $zipped->__getLastRequestHeaders());
        check($res->accepted + $res->duplicates === 28, "$name request decoded", $res);
    }
    $back = $admin->GetObservations(['stationId' => $p . 'c']);
    check(count($back->observation) === 28 && $back->observation[27]->temperature === 6.75, 'compressed data stored', $back);

    // HTTP Basic through login/password: a reader reads, cannot delete.
    $reader = client($version, ['login' => 'reader', 'password' => 're4der-secret']);
    check($reader->GetStation(['id' => $p . 'b'])->station->id === $p . 'b', 'Basic reader reads');
    check(strpos($reader->__getLastRequestHeaders(), 'Authorization: Basic ') !== false, 'Basic sent',
        $reader->__getLastRequestHeaders());
    expect_fault(fn() => $reader->DeleteStation(['id' => $p . 'b']), 'PERMISSION_DENIED', $version, 'Basic reader deletes');
    $wrong = client($version, ['login' => 'reader', 'password' => 'wrong']);
    expect_fault(fn() => $wrong->ListStations([]), 'UNAUTHENTICATED', $version, 'Basic wrong password');
    $anonymous = client($version);
    expect_fault(fn() => $anonymous->ListStations([]), 'UNAUTHENTICATED', $version, 'no credentials');

    // WS-Security UsernameToken in a SoapHeader; the answer never echoes it.
    $ws = client($version);
    $ws->__setSoapHeaders([wsse_header('writer', 'wr1ter-secret')]);
    $rec = $ws->RecordObservations(['stationId' => $p . 'b', 'observation' =>
        ['observedAt' => '2024-03-02T00:00:00Z', 'temperature' => -1.5]]);
    check($rec->accepted === 1, 'UsernameToken writer records', $rec);
    check(strpos($ws->__getLastRequest(), 'wsse:UsernameToken') !== false, 'token sent', $ws->__getLastRequest());
    check(strpos($ws->__getLastResponse(), 'wr1ter-secret') === false, 'secret not echoed', $ws->__getLastResponse());
    expect_fault(fn() => $ws->DeleteStation(['id' => $p . 'b']), 'PERMISSION_DENIED', $version, 'UsernameToken writer deletes');
    $ws->__setSoapHeaders([wsse_header('writer', 'wrong')]);
    expect_fault(fn() => $ws->GetStation(['id' => $p . 'b']), 'UNAUTHENTICATED', $version, 'UsernameToken wrong secret');

    // DeleteStation: an empty response object, then NOT_FOUND.
    $del = $admin->DeleteStation(['id' => $p . 'b']);
    check($del instanceof stdClass && get_object_vars($del) === [], 'DeleteStation answers empty', $del);
    expect_fault(fn() => $admin->DeleteStation(['id' => $p . 'b']), 'NOT_FOUND', $version, 'DeleteStation twice');
    expect_fault(fn() => $admin->GetObservations(['stationId' => $p . 'b']), 'NOT_FOUND', $version, 'observations deleted too');
}

foreach ([SOAP_1_1, SOAP_1_2] as $version) {
    exercise($version);
    echo 'ok: every operation over SOAP ', $version === SOAP_1_1 ? '1.1' : '1.2', "\n";
}
echo "ok: $checks checks\n";
exit(0);
