#!/usr/bin/env python3
"""Summarizes docs/bench/kv-stream.sh's results: per run, TTFT and time to the second token
(TTFT + the first inter-token gap: the first token comes from the prefill node, the second from the
decode node once the KV is there), medians over the run's requests, in ms; and the prefill node's
baton.prefill.kv.handoff (last chunk to the decode node's verdict), mean and max in ms."""
import json, statistics, sys, glob, os

def med(xs):
    return statistics.median(xs) if xs else float('nan')

out = sys.argv[1] if len(sys.argv) > 1 else 'run/bench-kv-stream'
rows = []
for path in sorted(glob.glob(os.path.join(out, '*', 'results.json'))):
    doc = json.load(open(path))
    for t in doc['results']:
        for p in t['points']:
            reqs = [r for r in p['requests'] if r.get('ok') and r.get('ttftMs') is not None]
            ttft = [r['ttftMs'] for r in reqs]
            t2 = [r['ttftMs'] + r['itlMs'][0] for r in reqs if r.get('itlMs')]
            prompt = med([r['promptTokens'] for r in reqs if r.get('promptTokens', -1) > 0])
            handoff = {}
            mf = os.path.join(os.path.dirname(path), 'prefill-metrics.txt')
            if os.path.exists(mf):
                for line in open(mf):
                    name, value = line.split()[0], float(line.split()[-1])
                    for k in ('count', 'sum', 'max'):
                        if name.startswith('baton_prefill_kv_handoff_seconds_' + k):
                            handoff[k] = value
            mean = handoff['sum'] / handoff['count'] * 1e3 if handoff.get('count') else float('nan')
            rows.append((os.path.basename(os.path.dirname(path)), len(reqs), prompt, med(ttft), med(t2),
                         med([r['itlMs'][0] for r in reqs if r.get('itlMs')]), med([r['e2eMs'] for r in reqs]),
                         mean, handoff.get('max', float('nan')) * 1e3))
print('| run | requests | prompt tokens | TTFT p50 ms | 2nd token p50 ms | 1st gap p50 ms | E2E p50 ms | handoff mean ms | handoff max ms |')
print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
for r in rows:
    print('| %s | %d | %.0f | %.0f | %.0f | %.1f | %.0f | %.1f | %.1f |' % r)
