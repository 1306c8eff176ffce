// Errors meant for the user: a clear message naming the file, option or op at fault. The CLI prints these
// without a stack trace; anything else is a bug.
export class GtnError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GtnError';
  }
}
