-- healthz.lua - wrk script: GET /healthz, the reference figure of a run.
--
-- The cheapest route of the daemon (no store, no JSON parsing): the ratio of
-- another route's rate to this one shows how much that route adds on top of
-- HTTP handling itself.

function request()
    return wrk.format("GET", "/healthz")
end
