/**
 * The one poll loop of the submitters (`score --queue`, `run --queue`, `select --queue`): look at the
 * states of some jobs every `pollMs` until the caller's `look` has its answer. A look that throws means
 * Redis cannot be reached (restarting): the loop says so and looks again, so a restarted Redis is picked
 * up; jobs it lost (state 'unknown') are the look's to enqueue again. Node-only adapter (BullMQ).
 */
import type { JobState, Queue } from 'bullmq';

/** Each job's state by id ('unknown': not in Redis). */
export type JobStates = Map<string, JobState | 'unknown'>;

export interface PollOptions {
  /** Milliseconds between looks. */
  pollMs: number;
  /** Called when a look failed because Redis could not be reached (the loop goes on). */
  onUnreachable?(): void;
}

/**
 * Looks at the states of `ids()` (asked again before every look) and hands them to `look` until it
 * returns something other than undefined, which this resolves to.
 */
export async function pollJobs<T>(
  queue: Queue,
  ids: () => readonly string[],
  look: (states: JobStates) => Promise<T | undefined>,
  options: PollOptions,
): Promise<T> {
  for (;;) {
    try {
      const wanted = ids();
      const states = await Promise.all(wanted.map(async (id) => [id, await queue.getJobState(id)] as const));
      const answer = await look(new Map(states));
      if (answer !== undefined) return answer;
    } catch {
      // Redis unreachable (restarting): look again.
      options.onUnreachable?.();
    }
    await new Promise((resolve) => setTimeout(resolve, options.pollMs));
  }
}
