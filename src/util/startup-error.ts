/** A start-up failure the user can fix: printed as one line on stderr, exit code 1, no stack trace. */
export class StartupError extends Error {}
