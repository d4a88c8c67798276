// `node bench/big-shard.js [clipsift score options...]` (after `npm run build`): issue 6 item 4, a
// synthetic DataComp shard with 2 GB of float16 embeddings (699,051 pairs × 768 × 2 bytes × image and
// text), scored by `clipsift score`; prints rows/s and peak RSS against the 2.5× goal. Needs ~2.2 GB
// of free space in the temp directory and takes minutes.
import { benchShard } from './datacomp-shard.js';

const EMBEDDING_BYTES = 2 * 2 ** 30;
benchShard(Math.ceil(EMBEDDING_BYTES / (2 * 768 * 2)), process.argv.slice(2));
