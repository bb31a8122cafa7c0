-- SPDX-License-Identifier: GPL-3.0-or-later
-- wrk script for a plain GET of the URL on the command line: only adds the
-- BENCHJSON report, so wrk keeps its static (pre-built) request.
--   wrk -s bench/wrk/get.lua URL
local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
dofile(here .. "/report.lua")
