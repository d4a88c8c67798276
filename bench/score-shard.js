// `node bench/score-shard.js [clipsift score options...]` (after `npm run build`): scores a synthetic
// 100k-row, 768-d float16 DataComp shard and prints rows/s and peak RSS. Default threads: auto.
import { benchShard } from './datacomp-shard.js';

benchShard(100_000, process.argv.slice(2));
