/** A role cannot start; the message says what to fix. The CLI prints it on one line. */
export class StartupError extends Error {
  override readonly name = 'StartupError';
}
