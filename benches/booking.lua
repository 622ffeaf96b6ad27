-- wrk script for benches/booking.sh and benches/booking_burst.sh: every request books a distinct
-- (mediator, half-hour) slot. Arguments 8 and 9 (optional): this wrk's number and how many wrk
-- run at once, so that wrk processes sharing a database never ask for the same slot.
local counter = 0
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  token, service, place = args[1], args[2], args[3]
  mediators, people = {}, {}
  for m in string.gmatch(args[4], "%d+") do table.insert(mediators, m) end
  for p in string.gmatch(args[5], "%d+") do table.insert(people, p) end
  base = tonumber(args[6])
  threads = tonumber(args[7])
  instance = tonumber(args[8] or "0")
  instances = tonumber(args[9] or "1")
  failures = 0
end

function request()
  local n = (counter * threads + id) * instances + instance
  counter = counter + 1
  local mediator = mediators[(n % #mediators) + 1]
  local person = people[(n % #people) + 1]
  local starts = os.date("!%Y-%m-%dT%H:%M:%SZ", base + math.floor(n / #mediators) * 1800)
  local body = string.format(
    '{"service_id":%s,"mediator_id":%s,"place_id":%s,"starts_at":"%s","person_ids":[%s]}',
    service, mediator, place, starts, person)
  return wrk.format("POST", "/api/v1/appointments",
    { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }, body)
end


-- Bookings made per second: the answers in 2xx (a refusal is no booking).
function done(summary, latency, requests)
  local ok = summary.requests - summary.errors.status
  io.write(string.format("Bookings/sec: %.1f (%d bookings, %d refused)\n",
    ok / (summary.duration / 1e6), ok, summary.errors.status))
end
