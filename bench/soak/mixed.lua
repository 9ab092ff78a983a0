-- mixed.lua - wrk script: the soak benchmark's mix of reads and writes.
--
-- Usage: wrk -s mixed.lua URL -- FIRST_ID LAST_ID SUBJECTS TOKEN RUN [WRITES]
-- Out of every 20 requests: 12 id lookups over [FIRST_ID, LAST_ID], 3 reads
-- of a preloaded subject's latest version, 1 subject list, 1 /healthz, 1
-- /metrics, 1 registration of a schema never seen before (as register.lua;
-- an id lookup instead when WRITES is 0) and 1 id lookup that closes its
-- connection, so that connections are opened and closed all along.
-- Refusals are counted and the first few printed.

local counter = 0
local first, last, subjects, token, run, writes
local threads = {}
local thread_id

function setup(thread)
    thread:set("tid", #threads)
    thread:set("seed", math.random(1, 1000000))
    table.insert(threads, thread)
end

function init(args)
    first = tonumber(args[1]) or 1
    last = tonumber(args[2]) or first
    subjects = tonumber(args[3]) or 100
    token = args[4]
    run = args[5] or "r"
    writes = (tonumber(args[6]) or 1) > 0
    thread_id = tid or 0
    math.randomseed(seed or os.time())
end

local function auth(headers)
    if token and token ~= "" then
        headers["Authorization"] = "Bearer " .. token
    end
    return headers
end

function request()
    counter = counter + 1
    local k = counter % 20
    if k == 0 and writes then
        local subject = "soak-" .. ((counter * 7919 + thread_id) % subjects)
        local field = string.format("f_%s_t%d_%d", run, thread_id, counter)
        local schema = '{\\"type\\":\\"record\\",\\"name\\":\\"Soak\\",\\"namespace\\":\\"bench\\",'
            .. '\\"fields\\":[{\\"name\\":\\"id\\",\\"type\\":\\"long\\"},'
            .. '{\\"name\\":\\"' .. field .. '\\",\\"type\\":\\"string\\",\\"default\\":\\"\\",'
            .. '\\"deprecated\\":true}]}'
        return wrk.format("POST", "/subjects/" .. subject .. "/versions",
            auth({["Content-Type"] = "application/vnd.schemaregistry.v1+json"}),
            '{"schema":"' .. schema .. '"}')
    elseif k <= 3 then
        return wrk.format("GET", "/subjects/preload-" .. math.random(0, 99) .. "/versions/latest")
    elseif k == 4 then
        return wrk.format("GET", "/subjects")
    elseif k == 5 then
        return wrk.format("GET", "/healthz")
    elseif k == 6 then
        return wrk.format("GET", "/metrics")
    elseif k == 7 then
        return wrk.format("GET", "/schemas/ids/" .. math.random(first, last),
            {["Connection"] = "close"})
    end
    return wrk.format("GET", "/schemas/ids/" .. math.random(first, last))
end

local failures = 0
function response(status, headers, body)
    if status ~= 200 then
        failures = failures + 1
        if failures <= 3 then
            io.stderr:write("mixed.lua: HTTP " .. status .. ": " .. body .. "\n")
        end
    end
end
