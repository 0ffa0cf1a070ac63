// serial.js — an async job that runs one at a time: calls made while it runs fold into one more run.

/**
 * Returns run(): it starts JOB (async) unless a run is under way; calls during a run make exactly
 * one more run after it (not one per call), when MORE() still says so. A failed run does not stop
 * the next.
 */
export function serially(job, more = () => true) {
  let busy = false;
  let again = false;
  const run = async () => {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      await job();
    } finally {
      busy = false;
    }
    if (again) {
      again = false;
      if (more()) await run();
    }
  };
  return run;
}
