package redis

import goredis "github.com/redis/go-redis/v9"

// A family's token value is one state byte ("a" active, "u" used), the
// token's expiry as 20 zero-padded digits of Unix nanoseconds, and the
// record JSON. Fixed-width digits compare as strings in time order, which
// keeps nanosecond precision that Lua's double numbers lose.

// luaExtend is shared by the scripts: it raises a key's TTL to ttl
// milliseconds and never lowers it. PTTL is -1 for a key without a TTL.
const luaExtend = `
local function extend(key, ttl)
  local current = redis.call('PTTL', key)
  if current < tonumber(ttl) then
    redis.call('PEXPIRE', key, ttl)
  end
end
`

// luaCheck returns the token value of ARGV[1] with status "ok", or a
// status of "missing", "expired" or "reused". Reuse deletes the family.
// ARGV[2] is the current time in the 20-digit form.
const luaCheck = `
local function check(tokens, exp)
  local v = redis.call('HGET', tokens, ARGV[1])
  if not v then return {'missing'} end
  if string.sub(v, 2, 21) <= ARGV[2] then return {'expired'} end
  if string.sub(v, 1, 1) == 'u' then
    redis.call('DEL', tokens, exp)
    return {'reused', v}
  end
  return {'ok', v}
end
`

// putScript stores the first token of a family.
// KEYS: tokens, exp. ARGV: hash, value, expiry ms, TTL ms.
var putScript = goredis.NewScript(luaExtend + `
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'duplicate' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
extend(KEYS[1], ARGV[4])
extend(KEYS[2], ARGV[4])
return 'ok'
`)

// getScript reads a token. KEYS: tokens, exp. ARGV: hash, now.
var getScript = goredis.NewScript(luaCheck + `
return check(KEYS[1], KEYS[2])
`)

// rotateScript marks the old token used and stores the next one, or
// reports why it cannot, and drops used tokens that have expired.
// KEYS: tokens, exp. ARGV: old hash, now, now ms, next hash, next value,
// next expiry ms, TTL ms.
var rotateScript = goredis.NewScript(luaExtend + luaCheck + `
local result = check(KEYS[1], KEYS[2])
if result[1] ~= 'ok' then return result end
if redis.call('HEXISTS', KEYS[1], ARGV[4]) == 1 then return {'duplicate'} end
redis.call('HSET', KEYS[1], ARGV[1], 'u' .. string.sub(result[2], 2))
redis.call('HSET', KEYS[1], ARGV[4], ARGV[5])
redis.call('ZADD', KEYS[2], ARGV[6], ARGV[4])
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[3], 'LIMIT', 0, 100)
for _, h in ipairs(expired) do
  redis.call('HDEL', KEYS[1], h)
  redis.call('ZREM', KEYS[2], h)
end
extend(KEYS[1], ARGV[7])
extend(KEYS[2], ARGV[7])
return result
`)

// subjectScript adds a family to its subject's set.
// KEYS: subject set. ARGV: family ID, TTL ms.
var subjectScript = goredis.NewScript(luaExtend + `
redis.call('SADD', KEYS[1], ARGV[1])
extend(KEYS[1], ARGV[2])
return 'ok'
`)

// luaSweepRevocations deletes up to 100 revocations whose expiry in ms is
// below ARGV[1]. KEYS: seq, log, exp, data, jti.
const luaSweepRevocations = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', '(' .. ARGV[1], 'LIMIT', 0, 100)
for _, cursor in ipairs(expired) do
  local data = redis.call('HGET', KEYS[4], cursor)
  if data then
    local jti = cjson.decode(data)['JTI']
    if redis.call('HGET', KEYS[5], jti) == cursor then redis.call('HDEL', KEYS[5], jti) end
  end
  redis.call('HDEL', KEYS[4], cursor)
  redis.call('ZREM', KEYS[2], cursor)
  redis.call('ZREM', KEYS[3], cursor)
end
`

// luaRecordRevocation records a revocation unless its jti is recorded,
// and returns the new cursor or 0. KEYS: seq, log, exp, data, jti.
const luaRecordRevocation = `
local function record(jti, expiry, data)
  if redis.call('HEXISTS', KEYS[5], jti) == 1 then return 0 end
  local cursor = redis.call('INCR', KEYS[1])
  redis.call('ZADD', KEYS[2], cursor, cursor)
  redis.call('ZADD', KEYS[3], expiry, cursor)
  redis.call('HSET', KEYS[4], cursor, data)
  redis.call('HSET', KEYS[5], jti, cursor)
  return cursor
end
`

// revokeScript sweeps, then records a revocation unless its jti is
// recorded, and returns the new cursor or 0.
// KEYS: seq, log, exp, data, jti. ARGV: now ms, jti, expiry ms, JSON.
var revokeScript = goredis.NewScript(luaSweepRevocations + luaRecordRevocation + `
return record(ARGV[2], ARGV[3], ARGV[4])
`)

// revokeSubjectScript sweeps, then records a subject revocation under its
// key unless the key is recorded, and then merges it into the subject's
// hash: the later "at" and the later "exp", both in the 20-digit form. It
// returns the new cursor or 0.
// KEYS: seq, log, exp, data, jti, subject hash. ARGV: now ms, key, expiry
// ms, JSON, revocation time, expiry, TTL ms.
var revokeSubjectScript = goredis.NewScript(luaExtend + luaSweepRevocations + luaRecordRevocation + `
local cursor = record(ARGV[2], ARGV[3], ARGV[4])
if cursor == 0 then return 0 end
local at = redis.call('HGET', KEYS[6], 'at')
if not at or at < ARGV[5] then redis.call('HSET', KEYS[6], 'at', ARGV[5]) end
local exp = redis.call('HGET', KEYS[6], 'exp')
if not exp or exp < ARGV[6] then redis.call('HSET', KEYS[6], 'exp', ARGV[6]) end
extend(KEYS[6], ARGV[7])
return cursor
`)

// revokedScript returns the cursor and record of a jti, or false.
// KEYS: seq, log, exp, data, jti. ARGV: jti.
var revokedScript = goredis.NewScript(`
local cursor = redis.call('HGET', KEYS[5], ARGV[1])
if not cursor then return false end
return {cursor, redis.call('HGET', KEYS[4], cursor)}
`)

// failureScript adds a failure to a key's window, starting a new window
// when the last one ended, and returns the count.
// KEYS: failure hash. ARGV: now ms, end ms of a new window.
var failureScript = goredis.NewScript(`
local ends = tonumber(redis.call('HGET', KEYS[1], 'until'))
local now = tonumber(ARGV[1])
if not ends or ends <= now then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'until', ARGV[2])
  ends = tonumber(ARGV[2])
end
local count = redis.call('HINCRBY', KEYS[1], 'count', 1)
redis.call('PEXPIRE', KEYS[1], math.max(ends - now, 1))
return count
`)
