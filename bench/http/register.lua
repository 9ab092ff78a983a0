-- register.lua - wrk script: POST /subjects/{s}/versions with unique schemas.
--
-- Usage: wrk -s register.lua URL -- SUBJECTS [TOKEN] [RUN]
-- Each request registers a schema never seen before (a per-thread counter
-- makes the field name unique) under one of SUBJECTS subjects, so every
-- request is a real registration: lookup miss, compatibility check against
-- the subject's latest version, insert.  Each schema is a fixed record plus
-- one unique optional field marked deprecated, so it is BACKWARD compatible
-- with any earlier one and dropping the previous unique field obeys the
-- registry's field-removal rule, whatever order the requests land in.
-- RUN distinguishes several runs against the same database.

local counter = 0
local subjects, token, run
local threads = {}
local thread_id

function setup(thread)
    thread:set("tid", #threads)
    table.insert(threads, thread)
end

function init(args)
    subjects = tonumber(args[1]) or 100
    token = args[2]
    run = args[3] or "r"
    thread_id = tid or 0
    wrk.method = "POST"
    wrk.headers["Content-Type"] = "application/vnd.schemaregistry.v1+json"
    if token and token ~= "" then
        wrk.headers["Authorization"] = "Bearer " .. token
    end
end

function request()
    counter = counter + 1
    local subject = "bench-" .. ((counter * 7919 + thread_id) % subjects)
    local field = string.format("f_%s_t%d_%d", run, thread_id, counter)
    local schema = '{\\"type\\":\\"record\\",\\"name\\":\\"Bench\\",\\"namespace\\":\\"bench\\",'
        .. '\\"fields\\":[{\\"name\\":\\"id\\",\\"type\\":\\"long\\"},'
        .. '{\\"name\\":\\"' .. field .. '\\",\\"type\\":\\"string\\",\\"default\\":\\"\\",'
        .. '\\"deprecated\\":true}]}'
    return wrk.format(nil, "/subjects/" .. subject .. "/versions", nil, '{"schema":"' .. schema .. '"}')
end

-- Count refusals so that the runner can tell failed registrations from fast ones.
local failures = 0
function response(status, headers, body)
    if status ~= 200 then
        failures = failures + 1
        if failures <= 3 then
            io.stderr:write("register.lua: HTTP " .. status .. ": " .. body .. "\n")
        end
    end
end
