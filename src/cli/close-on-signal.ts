/** Keeping a local server (serve-demo, serve-edge) up until Ctrl-C. */
import process from 'node:process';

/** Resolves once the first SIGINT or SIGTERM has closed `server`; the process then exits normally. */
export function closeOnSignal(server: { close(): Promise<void> }): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      void server.close().then(done);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}
