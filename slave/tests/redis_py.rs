//! redis-py (Debian's python3-redis), as applications use it, against
//! rocksync-master and redis-server in one run: the same script, the same
//! results. Scripting: `Lock` (its acquire, extend and release are Lua run
//! through EVALSHA), a rate limiter from `register_script`, functions
//! (FUNCTION LOAD, FCALL, FCALL_RO, FUNCTION LIST); unique visitors with
//! PFADD/PFCOUNT/PFMERGE; nearby places with GEOADD/GEOSEARCH; an event
//! pipeline on a stream with a consumer group (XADD, XREAD, XREADGROUP,
//! XACK, XPENDING, XCLAIM, XAUTOCLAIM, XINFO, XTRIM).

mod common;

use std::process::Command;

use common::{Node, Redis};

/// What an application does; prints one JSON object of what it saw.
const APP: &str = r##"
import json, sys
import redis

r = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]), decode_responses=True)
r.flushall()
out = {}

lock = r.lock('resource', timeout=5, blocking_timeout=0.1)
out['acquired'] = lock.acquire()
rival = r.lock('resource', timeout=5, blocking_timeout=0.1)
out['rival_while_held'] = rival.acquire()
out['owned'] = lock.owned()
lock.extend(5)
out['extended'] = r.pttl('resource') > 5000
lock.release()
out['rival_after_release'] = rival.acquire()
rival.release()
out['left_behind'] = r.exists('resource')
try:
    lock.release()
    out['double_release'] = 'allowed'
except redis.exceptions.LockError as e:
    out['double_release'] = type(e).__name__

limiter = r.register_script("""
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
if n > tonumber(ARGV[1]) then return 0 end
return 1
""")
out['limited'] = [limiter(keys=['rate:user:1'], args=[3, 10000]) for _ in range(5)]
out['window_set'] = r.pttl('rate:user:1') > 0
out['cached'] = r.script_exists(limiter.sha)
out['eval'] = r.eval("return {KEYS[1], ARGV[1], redis.call('INCRBY', KEYS[1], ARGV[1])}", 1, 'counter', 5)
r.script_flush()
out['after_flush'] = r.script_exists(limiter.sha)
out['reloaded'] = limiter(keys=['rate:user:2'], args=[1, 1000])

r.function_flush()
out['fn_loaded'] = r.function_load("""#!lua name=counters
redis.register_function('bump', function(keys, args) return redis.call('INCRBY', keys[1], args[1]) end)
redis.register_function{function_name='peek', callback=function(keys) return redis.call('GET', keys[1]) end, flags={'no-writes'}}
""")
out['fcall'] = [r.fcall('bump', 1, 'hits', 2), r.fcall('bump', 1, 'hits', 3)]
out['fcall_ro'] = r.fcall_ro('peek', 1, 'hits')
try:
    r.fcall_ro('bump', 1, 'hits', 1)
    out['fcall_ro_write'] = 'allowed'
except redis.exceptions.ResponseError as e:
    out['fcall_ro_write'] = str(e)
pairs = lambda x: dict(zip(x[::2], x[1::2]))
listed = [pairs(l) for l in r.function_list(library='counters')]
out['fn_list'] = [(l['library_name'], sorted(pairs(f)['name'] for f in l['functions'])) for l in listed]

for day, n in (('mon', 1000), ('tue', 1500)):
    r.pfadd('visitors:' + day, *['user:%d' % i for i in range(n)])
out['pfcount'] = [r.pfcount('visitors:mon'), r.pfcount('visitors:tue'), r.pfcount('visitors:mon', 'visitors:tue')]
r.pfmerge('visitors:week', 'visitors:mon', 'visitors:tue')
out['pfmerged'] = r.pfcount('visitors:week')
raw = redis.Redis(host='127.0.0.1', port=int(sys.argv[1]))
out['hll_bytes'] = raw.get('visitors:week').hex()

r.geoadd('places', [13.361389, 38.115556, 'Palermo', 15.087269, 37.502669, 'Catania', 12.496366, 41.902782, 'Rome'])
out['geodist'] = r.geodist('places', 'Palermo', 'Catania', unit='km')
out['geosearch'] = r.geosearch('places', longitude=15, latitude=37, radius=200, unit='km', sort='ASC', withdist=True, withcoord=True)
out['geosearch_box'] = r.geosearch('places', member='Rome', width=1000, height=1000, unit='km', sort='DESC')
out['geopos'] = r.geopos('places', 'Rome', 'nowhere')
out['geohash'] = r.geohash('places', 'Palermo')

# An event pipeline: producers append, a consumer group shares the work,
# a crashed worker's entries are claimed by another.
for i in range(1, 21):
    r.xadd('jobs', {'n': i, 'kind': 'resize' if i % 2 else 'crop'}, id='%d-0' % i, maxlen=15, approximate=False)
out['xlen'] = r.xlen('jobs')
out['xrange'] = r.xrange('jobs', min='-', max='+', count=2)
out['xrevrange'] = r.xrevrange('jobs', count=1)
out['xread'] = r.xread({'jobs': '18-0'})
r.xgroup_create('jobs', 'workers', id='0')
got = r.xreadgroup('workers', 'w1', {'jobs': '>'}, count=4)
out['xreadgroup'] = got
out['xack'] = r.xack('jobs', 'workers', *[e[0] for e in got[0][1][:2]])
out['xpending'] = r.xpending('jobs', 'workers')
out['xclaim'] = r.xclaim('jobs', 'workers', 'w2', 0, [got[0][1][2][0]], justid=True)
out['xautoclaim'] = r.xautoclaim('jobs', 'workers', 'w2', 0, start_id='0-0', count=5, justid=True)
out['xinfo_groups'] = [{k: g[k] for k in ('name', 'consumers', 'pending', 'last-delivered-id')} for g in r.xinfo_groups('jobs')]
out['xinfo_stream'] = {k: v for k, v in r.xinfo_stream('jobs').items() if k in ('length', 'first-entry', 'last-generated-id', 'groups')}
out['xdel'] = r.xdel('jobs', '20-0', '99-0')
out['xtrim'] = r.xtrim('jobs', minid='10-0')
auto = r.xadd('jobs', {'late': 1})
out['auto_id_is_time'] = int(auto.split('-')[0]) > 1600000000000
out['blocked_read'] = r.xread({'quiet': '$'}, block=100)
print(json.dumps(out, sort_keys=True))
"##;

/// The JSON the app printed against `port` (keys sorted: comparable as
/// text).
fn run(port: u16) -> String {
    let out = Command::new("/usr/bin/python3")
        .args(["-c", APP, &port.to_string()])
        .output()
        .expect("python3 (apt-get install python3-redis)");
    assert!(
        out.status.success(),
        "redis-py against port {port}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn redis_py_scripts_functions_hyperloglogs_geo_and_streams_work_as_on_redis() {
    let redis = Redis::start(&[]);
    let dir = tempfile::tempdir().expect("tmp");
    let m = Node::master(&dir.path().join("data"), 0, &[]);
    let theirs = run(redis.port);
    let ours = run(m.addr.port());
    assert_eq!(ours, theirs);
    // And what it saw is what an application counts on.
    for expected in [
        r#""acquired": true"#,
        r#""rival_while_held": false"#,
        r#""rival_after_release": true"#,
        r#""extended": true"#,
        r#""left_behind": 0"#,
        r#""double_release": "LockError""#,
        r#""limited": [1, 1, 1, 0, 0]"#,
        r#""cached": [true]"#,
        r#""after_flush": [false]"#,
        r#""eval": ["counter", "5", 5]"#,
        r#""reloaded": 1"#,
        r#""fn_loaded": "counters""#,
        r#""fcall": [2, 5]"#,
        r#""fcall_ro": "5""#,
        r#""fn_list": [["counters", ["bump", "peek"]]]"#,
        r#""hll_bytes": "48594c4c"#,
        r#""geosearch_box": ["Catania", "Palermo", "Rome"]"#,
        r#""xlen": 15"#,
        r#""xack": 2"#,
        r#""auto_id_is_time": true"#,
        r#""blocked_read": []"#,
    ] {
        assert!(ours.contains(expected), "{expected} not in {ours}");
    }
}
