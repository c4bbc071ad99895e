#!/usr/bin/env python3
"""DGL's neighbour sampler on the same files `gs bench sampling` reads.

The counterpart of `gs bench sampling` (host/bench/src/sampling.rs), measured the same
way: batches of `--batch-size` distinct random seeds, a multi-layer neighbour sample with
`--fanout` (input-most layer first) compacted into blocks, one warm-up pass, then `--reps`
timed passes over the same batches; medians. "Sampled edges" is the total edge count of the
blocks, as gs counts them.

It reads a DGL partition in one part of a graph with one node type and one edge type (DGL's
sampler then sees the same graph gs does). Make one, for both tools, with:

    python3 host/graph/benches/dgl_sampling.py --make-uniform OUT --nodes 1000000 --edges 10000000

which writes `dgl.rand_graph(nodes, edges)` (seed 42) with `dgl.distributed.partition_graph`
as OUT/uniform.json. Then:

    python3 host/graph/benches/dgl_sampling.py --part-config OUT/uniform.json --fanout 10,10 \
        --batch-size 1024 --threads 1
    gs bench sampling --part-config OUT/uniform.json --fanout 10,10 --batch-size 1024 --threads 1,2

Needs `dgl` (2.1.0 from PyPI) and `torch`. `--threads` sets OMP_NUM_THREADS and torch's thread
count before DGL is imported, so each thread count is a separate run of this script.
"""

import argparse
import os
import statistics
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--part-config", help="part-config JSON of a one-part DGL partition")
    p.add_argument("--fanout", default="10,10", help="fanout per layer, input-most first")
    p.add_argument("--batch-size", type=int, default=1024)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--batches", type=int, default=20)
    p.add_argument("--reps", type=int, default=5)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--make-uniform", metavar="OUT", help="write a uniform random graph as a one-part DGL partition")
    p.add_argument("--nodes", type=int, default=1_000_000)
    p.add_argument("--edges", type=int, default=10_000_000)
    return p.parse_args()


def make_uniform(args, dgl, torch):
    torch.manual_seed(args.seed)
    dgl.seed(args.seed)
    g = dgl.rand_graph(args.nodes, args.edges)
    dgl.distributed.partition_graph(g, "uniform", 1, args.make_uniform, part_method="random")
    print(f"wrote {os.path.join(args.make_uniform, 'uniform.json')}: {g.num_nodes()} nodes, {g.num_edges()} edges")


def main():
    args = parse_args()
    # Thread counts must be fixed before DGL's OpenMP runtime starts.
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    import dgl
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    if args.make_uniform:
        make_uniform(args, dgl, torch)
        return
    if not args.part_config:
        sys.exit("error: give --part-config (or --make-uniform OUT)")
    import json

    with open(args.part_config) as f:
        meta = json.load(f)
    if meta.get("num_parts") != 1:
        sys.exit(f"error: {args.part_config} has {meta.get('num_parts')} parts; this script samples one-part partitions")
    t = time.perf_counter()
    g = dgl.distributed.load_partition(args.part_config, 0)[0]
    load = time.perf_counter() - t
    ntypes = len(meta.get("ntypes", {"_N": 0}))
    etypes = len(meta.get("etypes", {"_E": 0}))
    if ntypes != 1 or etypes != 1:
        sys.exit(f"error: {args.part_config} has {ntypes} node and {etypes} edge types; this script samples homogeneous graphs")
    # The partition's local graph carries DGL's bookkeeping columns; sample its structure only.
    g = dgl.graph(g.edges(), num_nodes=g.num_nodes())
    fanouts = [int(x) for x in args.fanout.split(",")]
    sampler = dgl.dataloading.NeighborSampler(fanouts)
    rng = np.random.default_rng(args.seed)
    n = g.num_nodes()
    k = min(args.batch_size, n)
    batches = [torch.from_numpy(rng.choice(n, size=k, replace=False)) for _ in range(args.batches)]

    def one_pass():
        edges = 0
        t0, c0 = time.perf_counter(), time.process_time()
        for seeds in batches:
            _, _, blocks = sampler.sample_blocks(g, seeds)
            edges += sum(b.num_edges() for b in blocks)
        return time.perf_counter() - t0, time.process_time() - c0, edges

    one_pass()
    walls, cpus, edges = [], [], 0
    for _ in range(args.reps):
        wall, cpu, edges = one_pass()
        walls.append(wall)
        cpus.append(cpu)
    wall, cpu = statistics.median(walls), statistics.median(cpus)
    print(f"# DGL {dgl.__version__} sampling (torch {torch.__version__})")
    print()
    print(f"- graph: {args.part_config} ({g.num_nodes()} nodes, {g.num_edges()} edges), loaded in {load:.3f} s")
    print(f"- seeds: {k} distinct random nodes per batch, {args.batches} batches, seed {args.seed}; fanout {args.fanout}; "
          f"1 warm-up pass, then {args.reps} timed passes (medians)")
    print()
    print("| threads | seeds/s | sampled edges/s | sampled edges per batch | time per batch | sampled edges per CPU-second |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.threads} | {k * args.batches / wall:.0f} | {edges / wall / 1e6:.2f} M | {edges / args.batches:.0f} | "
          f"{wall / args.batches * 1e3:.2f} ms | {edges / cpu / 1e6:.2f} M |")


if __name__ == "__main__":
    main()
