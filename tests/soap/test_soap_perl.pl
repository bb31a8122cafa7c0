#!/usr/bin/perl
# SPDX-License-Identifier: GPL-3.0-or-later
# SOAP::Lite (Debian's libsoap-lite-perl) against the real server, the way
# Perl integrators use it with a document/literal service: an explicit
# proxy, namespace and on_action (SOAP::Lite's WSDL mode, service(), only
# knows rpc/encoded and sends unqualified, nil parameters). Every operation
# over SOAP 1.1 and SOAP 1.2 (soapversion), checking the values of each
# answer, repeated elements with one and several items, absent optional
# fields, Faults (faultcode or Code/Value, and the ServiceFault detail
# code), Bearer, Basic and WS-Security UsernameToken credentials, and text
# outside ASCII, which SOAP::Lite's autotyping sends as xsd:base64Binary
# (refused with INVALID_ARGUMENT, never stored as base64 text).
#
# Usage: perl test_soap_perl.pl BASE_URL (a server started with the keys of
# tests/soap/CMakeLists.txt). Exits 0 when every check passed.
use strict;
use warnings;
use utf8;

use SOAP::Lite;

binmode STDOUT, ':encoding(UTF-8)';
binmode STDERR, ':encoding(UTF-8)';

my $base = shift @ARGV or die "usage: perl test_soap_perl.pl BASE_URL\n";
my $NS = 'urn:nimbus:weather:v1';
my $WSSE = 'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd';
my $PASSWORD_TEXT =
  'http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordText';

my $checks = 0;

sub check {
    my ($ok, $what, @got) = @_;
    $checks++;
    return if $ok;
    require Data::Dumper;
    no warnings 'once';
    local $Data::Dumper::Sortkeys = 1;
    die "FAIL: $what\n" . (@got ? Data::Dumper::Dumper(@got) : '');
}

# A client for one SOAP version. The version is global in SOAP::Lite and
# must be set before the object exists: its serializer binds the envelope
# prefix when created, so new(soapversion => '1.2') or a later
# ->soapversion('1.2') sends an Envelope in no namespace. autotype(0): no
# xsi:type on our elements (SOAP::Lite would otherwise guess one per value;
# see the base64 check).
sub client {
    my ($version, %auth) = @_;
    SOAP::Lite->soapversion($version);
    my $soap = SOAP::Lite->new->proxy("$base/soap", timeout => 30)
      ->ns($NS, 'nimbus')->on_action(sub { "$NS/$_[1]" })->autotype(0);
    my $req = $soap->transport->http_request;
    $req->header(Authorization => "Bearer $auth{bearer}") if $auth{bearer};
    $req->authorization_basic($auth{user}, $auth{password}) if $auth{user};
    return $soap;
}

# Namespace-qualified elements, as the WSDL's elementFormDefault requires.
sub el { return SOAP::Data->name("nimbus:$_[0]" => $_[1]) }
sub rec { return \SOAP::Data->value(@_) }

sub station {
    my ($id, $city, %more) = @_;
    my %s = (id => $id, name => 'Perl station', city => $city, country => 'FR',
             latitude => 48.8566, longitude => 2.3522, %more);
    my @order = grep { exists $s{$_} } qw(id name city country latitude longitude elevation);
    return el(station => rec(map { el($_ => $s{$_}) } @order));
}

sub observation {
    my (%o) = @_;
    my @order = grep { exists $o{$_} }
      qw(stationId observedAt temperature humidity pressure windSpeed windDirection precipitation);
    return el(observation => rec(map { el($_ => $o{$_}) } @order));
}

sub wsse_header {
    my ($name, $secret) = @_;
    return SOAP::Header->type(xml => qq{<wsse:Security xmlns:wsse="$WSSE"><wsse:UsernameToken>}
          . qq{<wsse:Username>$name</wsse:Username>}
          . qq{<wsse:Password Type="$PASSWORD_TEXT">$secret</wsse:Password>}
          . qq{</wsse:UsernameToken></wsse:Security>});
}

sub call_ok {
    my ($soap, $op, @args) = @_;
    my $som = $soap->call($op, @args);
    check(!$som->fault, "$op succeeds", $som->fault);
    check($soap->transport->status =~ /^200\b/, "$op HTTP 200", $soap->transport->status);
    return $som;
}

# The fault in either version: SOAP::SOM's faultcode/faultstring/faultdetail
# read SOAP 1.1 paths only, so SOAP 1.2 is read from Code/Reason/Detail.
sub fault_of {
    my ($som, $version) = @_;
    my $f = $som->fault or return;
    return $version eq '1.1'
      ? ($som->faultcode, $som->faultstring, $som->faultdetail)
      : ($f->{Code}{Value}, $f->{Reason}{Text}, $f->{Detail});
}

sub expect_fault {
    my ($soap, $version, $code, $what, $op, @args) = @_;
    my $som = $soap->call($op, @args);
    my ($faultcode, $faultstring, $detail) = fault_of($som, $version);
    check(defined $faultcode, "$what: a Fault", $som->body);
    my $want = $version eq '1.1' ? 'Client' : 'Sender';
    check($faultcode =~ /(^|:)$want$/, "$what: faultcode $want", $faultcode);
    check(ref $detail eq 'HASH' && $detail->{ServiceFault}{code} eq $code, "$what: code $code", $detail);
    check($detail->{ServiceFault}{message} eq $faultstring, "$what: message", $detail, $faultstring);
    my $status = $version eq '1.1' ? 500 : 400;
    check($soap->transport->status =~ /^$status\b/, "$what: HTTP $status", $soap->transport->status);
    return $faultstring;
}

sub ids { return [map { $_->{id} } @_] }

sub exercise {
    my ($version) = @_;
    (my $v = $version) =~ s/\.//;
    my $p = "perl$v-";
    my $city = "Perlbourg$v";
    my $admin = client($version, bearer => 'adm1n-secret');

    # The request really is the version asked for.
    my $som = call_ok($admin, 'CreateStation',
        station("${p}a", $city, name => 'Genève-Cointrin Aéroport', elevation => 411.5));
    my $want_ct = $version eq '1.1' ? 'text/xml' : 'application/soap+xml';
    # (http_request is a template; what was sent is the response's request.)
    my $sent = $admin->transport->http_response->request;
    check($sent->content_type eq $want_ct, 'request Content-Type', $sent->content_type);
    check(index($admin->transport->http_response->content_type, $want_ct) == 0,
          'response Content-Type', $admin->transport->http_response->content_type);
    my $a = $som->valueof('//CreateStationResponse/station');
    check($a->{id} eq "${p}a" && $a->{latitude} == 48.8566 && $a->{longitude} == 2.3522
          && $a->{elevation} == 411.5, 'CreateStation values', $a);
    check($a->{name} eq 'Genève-Cointrin Aéroport', 'UTF-8 text round-trips', $a);
    check($admin->transport->http_response->decoded_content =~ />48\.8566</, 'shortest double text');
    call_ok($admin, 'CreateStation', station("${p}b", $city));
    call_ok($admin, 'CreateStation', station("${p}c", $city, country => 'BE'));

    expect_fault($admin, $version, 'ALREADY_EXISTS', 'duplicate', 'CreateStation', station("${p}a", $city));
    my $why = expect_fault($admin, $version, 'INVALID_ARGUMENT', 'longitude out of range', 'CreateStation',
        station("${p}x", $city, longitude => 181));
    check($why =~ /longitude/, 'the message names the field', $why);

    # SOAP::Lite's default autotyping sends non-ASCII text as
    # xsd:base64Binary; that is refused, not stored as base64 text.
    my $auto = client($version, bearer => 'adm1n-secret')->autotype(1);
    $why = expect_fault($auto, $version, 'INVALID_ARGUMENT', 'base64Binary text', 'CreateStation',
        station("${p}z", $city, name => 'Zürich'));
    check($why =~ /base64Binary/, 'the message says why', $why);
    expect_fault($admin, $version, 'NOT_FOUND', 'nothing stored', 'GetStation', el(id => "${p}z"));
    # Autotyped ASCII values (xsd:string, xsd:float, xsd:int) are fine.
    $som = call_ok($auto, 'GetStation', el(id => "${p}c"));
    check($som->valueof('//GetStationResponse/station/country') eq 'BE', 'autotyped request');

    # The shorter form: a default namespace that the unprefixed children
    # inherit, and the operation called as a method.
    SOAP::Lite->soapversion($version);
    my $short = SOAP::Lite->new->proxy("$base/soap", timeout => 30)->default_ns($NS)->autotype(0);
    $short->transport->http_request->header(Authorization => 'Bearer re4der-secret');
    $som = $short->GetStation(SOAP::Data->name(id => "${p}a"));
    check(!$som->fault && $som->valueof('//GetStationResponse/station/name') eq 'Genève-Cointrin Aéroport',
          'default_ns form', $som->fault);

    # GetStation: optional elevation absent, numbers as text.
    my $b = call_ok($admin, 'GetStation', el(id => "${p}b"))->valueof('//GetStationResponse/station');
    check($b->{name} eq 'Perl station' && !exists $b->{elevation}, 'absent elevation', $b);
    expect_fault($admin, $version, 'NOT_FOUND', 'GetStation unknown', 'GetStation', el(id => "${p}none"));

    # UpdateStation replaces every field.
    my $u = call_ok($admin, 'UpdateStation', station("${p}a", $city, name => 'Renamed', latitude => -12.25))
      ->valueof('//UpdateStationResponse/station');
    check($u->{name} eq 'Renamed' && $u->{latitude} == -12.25 && !exists $u->{elevation}, 'UpdateStation', $u);

    # ListStations: valueof in list context gives every repeated element,
    # one or several alike.
    $som = call_ok($admin, 'ListStations', el(city => $city));
    my @all = $som->valueof('//ListStationsResponse/station');
    check("@{ids(@all)}" eq "${p}a ${p}b ${p}c", 'three stations in id order', \@all);
    check(!defined $som->valueof('//ListStationsResponse/nextCursor'), 'no nextCursor on the last page');
    my @one = call_ok($admin, 'ListStations', el(city => $city), el(country => 'BE'))
      ->valueof('//ListStationsResponse/station');
    check(@one == 1 && $one[0]{id} eq "${p}c", 'one station', \@one);
    my @seen;
    my $cursor;
    do {
        $som = call_ok($admin, 'ListStations', el(city => $city), el(limit => 2),
            defined $cursor ? el(cursor => $cursor) : ());
        push @seen, @{ids($som->valueof('//ListStationsResponse/station'))};
        $cursor = $som->valueof('//ListStationsResponse/nextCursor');
    } while (defined $cursor);
    check("@seen" eq "${p}a ${p}b ${p}c", 'paging', \@seen);
    my @none = call_ok($admin, 'ListStations', el(city => "Nowhere$v"))->valueof('//ListStationsResponse/station');
    check(@none == 0, 'no station', \@none);

    # RecordObservations: several, an offset, stationId inside or not.
    $som = call_ok($admin, 'RecordObservations', el(stationId => "${p}a"),
        observation(observedAt => '2024-06-01T14:00:00+02:00', temperature => 21.5, humidity => 55),
        observation(stationId => "${p}a", observedAt => '2024-06-01T13:00:00Z', temperature => 23.25,
                    pressure => 1008.5, windSpeed => 4, windDirection => 180, precipitation => 0.75));
    my $r = $som->valueof('//RecordObservationsResponse');
    check($r->{accepted} == 2 && $r->{duplicates} == 0 && $r->{lastSeq} == $r->{firstSeq} + 1, 'recorded', $r);
    my $dup = call_ok($admin, 'RecordObservations', el(stationId => "${p}a"),
        observation(observedAt => '2024-06-01T12:00:00Z', temperature => 21.5, humidity => 55))
      ->valueof('//RecordObservationsResponse');
    check($dup->{accepted} == 0 && $dup->{duplicates} == 1 && !exists $dup->{firstSeq}, 'duplicate', $dup);
    expect_fault($admin, $version, 'INVALID_ARGUMENT', 'humidity out of range', 'RecordObservations',
        el(stationId => "${p}a"), observation(observedAt => '2024-06-01T15:00:00Z', humidity => 101));
    expect_fault($admin, $version, 'INVALID_ARGUMENT', 'other stationId', 'RecordObservations',
        el(stationId => "${p}a"), observation(stationId => "${p}b", observedAt => '2024-06-01T15:00:00Z'));
    expect_fault($admin, $version, 'NOT_FOUND', 'RecordObservations unknown', 'RecordObservations',
        el(stationId => "${p}none"), observation(observedAt => '2024-06-01T15:00:00Z'));

    # GetObservations: UTC dates, absent values, from inclusive, to exclusive.
    my @obs = call_ok($admin, 'GetObservations', el(stationId => "${p}a"))
      ->valueof('//GetObservationsResponse/observation');
    check(@obs == 2 && $obs[0]{observedAt} eq '2024-06-01T12:00:00Z' && $obs[1]{observedAt} eq '2024-06-01T13:00:00Z',
          'UTC dates in order', \@obs);
    check($obs[0]{temperature} == 21.5 && $obs[0]{humidity} == 55 && !exists $obs[0]{pressure}
          && !exists $obs[0]{precipitation}, 'first observation', $obs[0]);
    check($obs[1]{pressure} == 1008.5 && $obs[1]{windDirection} == 180 && $obs[1]{precipitation} == 0.75
          && $obs[1]{seq} == $r->{lastSeq}, 'second observation', $obs[1]);
    my @window = call_ok($admin, 'GetObservations', el(stationId => "${p}a"),
        el(from => '2024-06-01T12:00:00Z'), el(to => '2024-06-01T13:00:00Z'))
      ->valueof('//GetObservationsResponse/observation');
    check(@window == 1 && $window[0]{seq} == $r->{firstSeq}, 'from/to window', \@window);
    expect_fault($admin, $version, 'INVALID_ARGUMENT', 'bad dateTime', 'GetObservations',
        el(stationId => "${p}a"), el(from => 'noon'));

    # GetObservationFeed (1.1): after a seq, a repeated <station>, lastSeq
    # to pass next time, headSeq.
    my $feed = call_ok($admin, 'GetObservationFeed', el(afterSeq => $r->{firstSeq} - 1),
        el(station => "${p}a"), el(station => "${p}b"), el(limit => 1));
    my @fed = $feed->valueof('//GetObservationFeedResponse/observation');
    my $f = $feed->valueof('//GetObservationFeedResponse');
    check(@fed == 1 && $fed[0]{seq} == $r->{firstSeq} && $f->{lastSeq} == $r->{firstSeq}
          && $f->{headSeq} >= $r->{lastSeq}, 'feed page', $f);
    $f = call_ok($admin, 'GetObservationFeed', el(afterSeq => $f->{lastSeq}), el(station => "${p}a"))
      ->valueof('//GetObservationFeedResponse');
    check($f->{lastSeq} == $r->{lastSeq} && $f->{observation}{seq} == $r->{lastSeq}, 'feed next page', $f);
    expect_fault($admin, $version, 'NOT_FOUND', 'feed of an unknown station', 'GetObservationFeed',
        el(station => "${p}none"));

    # GetWeather and GetCityWeather.
    my $w = call_ok($admin, 'GetWeather', el(stationId => "${p}a"))->valueof('//GetWeatherResponse/report');
    check($w->{station}{id} eq "${p}a" && $w->{latest}{observedAt} eq '2024-06-01T13:00:00Z', 'latest', $w);
    check($w->{last24h}{count} == 2 && $w->{last24h}{minTemperature} == 21.5 && $w->{last24h}{maxTemperature} == 23.25
          && $w->{last24h}{meanTemperature} == 22.375 && $w->{last24h}{totalPrecipitation} == 0.75, 'last24h', $w);
    my $wb = call_ok($admin, 'GetWeather', el(stationId => "${p}b"))->valueof('//GetWeatherResponse/report');
    check(!exists $wb->{latest} && !exists $wb->{last24h}, 'no readings', $wb);
    expect_fault($admin, $version, 'NOT_FOUND', 'GetWeather unknown', 'GetWeather', el(stationId => "${p}none"));
    my @reports = call_ok($admin, 'GetCityWeather', el(city => $city))->valueof('//GetCityWeatherResponse/report');
    check("@{ids(map { $_->{station} } @reports)}" eq "${p}a ${p}b ${p}c", 'city reports', \@reports);
    my @single = call_ok($admin, 'GetCityWeather', el(city => $city), el(country => 'BE'))
      ->valueof('//GetCityWeatherResponse/report');
    check(@single == 1 && $single[0]{station}{id} eq "${p}c", 'one report', \@single);
    expect_fault($admin, $version, 'NOT_FOUND', 'unknown city', 'GetCityWeather', el(city => "Nowhere$v"));

    # Basic (preemptive; the server answers a Fault, not a 401 challenge).
    my $reader = client($version, user => 'reader', password => 're4der-secret');
    call_ok($reader, 'GetStation', el(id => "${p}b"));
    expect_fault($reader, $version, 'PERMISSION_DENIED', 'reader deletes', 'DeleteStation', el(id => "${p}b"));
    expect_fault(client($version, user => 'reader', password => 'nope'), $version, 'UNAUTHENTICATED',
        'Basic wrong secret', 'ListStations');
    expect_fault(client($version), $version, 'UNAUTHENTICATED', 'no credentials', 'ListStations');

    # WS-Security UsernameToken as a raw SOAP::Header.
    my $anon = client($version);
    $som = call_ok($anon, 'RecordObservations', el(stationId => "${p}b"),
        observation(observedAt => '2024-06-02T00:00:00Z', temperature => -3.5), wsse_header('writer', 'wr1ter-secret'));
    check($som->valueof('//RecordObservationsResponse/accepted') == 1, 'UsernameToken writer records');
    check($anon->transport->http_response->decoded_content !~ /wr1ter-secret/, 'secret not echoed');
    expect_fault($anon, $version, 'PERMISSION_DENIED', 'UsernameToken writer deletes', 'DeleteStation',
        el(id => "${p}b"), wsse_header('writer', 'wr1ter-secret'));
    expect_fault($anon, $version, 'UNAUTHENTICATED', 'UsernameToken wrong', 'GetStation',
        el(id => "${p}b"), wsse_header('writer', 'wrong'));

    # DeleteStation: an empty response element, then NOT_FOUND.
    $som = call_ok($admin, 'DeleteStation', el(id => "${p}b"));
    check(defined $som->match('//DeleteStationResponse'), 'DeleteStationResponse');
    expect_fault($admin, $version, 'NOT_FOUND', 'deleted', 'DeleteStation', el(id => "${p}b"));
    expect_fault($admin, $version, 'NOT_FOUND', 'observations deleted', 'GetObservations', el(stationId => "${p}b"));
}

for my $version ('1.1', '1.2') {
    exercise($version);
    print "ok: every operation over SOAP $version\n";
}
print "ok: $checks checks\n";
exit 0;
