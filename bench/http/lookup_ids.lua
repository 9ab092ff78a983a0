-- lookup_ids.lua - wrk script: GET /schemas/ids/{id} over a range of ids.
--
-- Usage: wrk -s lookup_ids.lua URL -- FIRST_ID LAST_ID
-- Every request asks for a random id in [FIRST_ID, LAST_ID], so the daemon's
-- id cache and store see the whole preloaded set, not one hot entry.

local first, last

function setup(thread)
    thread:set("seed", math.random(1, 1000000))
end

function init(args)
    first = tonumber(args[1]) or 1
    last = tonumber(args[2]) or first
    math.randomseed(seed or os.time())
end

function request()
    return wrk.format("GET", "/schemas/ids/" .. math.random(first, last))
end
