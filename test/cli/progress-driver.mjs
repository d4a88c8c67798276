// Drives the built progress display (dist/lib) through a DataComp-sized run on whatever stderr is:
// a pseudo-terminal in test/cli/progress-pty.test.ts. The clock is fake (one second per reading) so
// every update draws a frame; the scoring updates come from the real engine's per-batch onProgress.
import { Progress } from '../../dist/lib/cli/progress.js';
import { createEngine } from '../../dist/lib/index.js';

let now = 0;
const clock = () => (now += 1000);
const total = 12_800_000;
const progress = new Progress({ label: 'score', total, engine: '2 threads, relaxed SIMD', now: clock });
const engine = await createEngine({ threads: 1 });
try {
  const rows = 256;
  const dim = 16;
  const img = new Float32Array(rows * dim).map((_, i) => Math.sin(i));
  const txt = new Float32Array(rows * dim).map((_, i) => Math.cos(i));
  const perShard = total / 2;
  for (const [index, name] of ['00000000', '00000001'].entries()) {
    progress.stage(name, 'reading', `${index + 1}/2`);
    for (let i = 0; i < 4; i++) progress.add(perShard / 8);
    progress.phase = 'scoring';
    progress.redraw();
    let reported = 0;
    await engine.negClipLoss(
      { data: img, rows, dim },
      { data: txt, rows, dim },
      {
        batchSize: 32,
        repeats: 2,
        temperature: 0.07,
        onProgress: (done, all) => {
          const share = ((perShard / 2) * done) / all;
          progress.add(share - reported);
          reported = share;
        },
      },
    );
  }
  progress.finish(undefined, 'score');
} finally {
  await engine.close();
}
