-- shim_srv_wrk.lua — helper of shim_nginx.sh and scripts/bench.sh (wrk -s):
-- at the end of a run, one machine-readable line
--   WRK requests=N bytes=N non2xx=N connect=N read=N write=N timeout=N rps=N
-- (wrk prints "Non-2xx or 3xx responses" and "Socket errors" only when they
-- are non-zero; this line always carries every counter).
done = function(summary, latency, requests)
	local e = summary.errors
	local secs = summary.duration / 1e6
	local rps = 0
	if secs > 0 then
		rps = summary.requests / secs
	end
	io.write(string.format(
		"WRK requests=%d bytes=%d non2xx=%d connect=%d read=%d write=%d timeout=%d rps=%.0f\n",
		summary.requests, summary.bytes, e.status, e.connect, e.read, e.write,
		e.timeout, rps))
end
