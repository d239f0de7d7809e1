import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';

/** The operator closed the input (Ctrl-D, or piped answers ran out) before the dialog ended. */
export class EndOfAnswers extends Error {
  constructor() {
    super('no answer (end of input): nothing reset');
  }
}

/**
 * Questions on `output`, answers read line by line from `input`: a terminal or a pipe alike
 * (answers can be scripted: `printf '2\ndocs/**\np\ny\n' | diode-send ledger reset -i`).
 */
export class Prompter {
  private readonly lines: AsyncIterator<string>;
  /** Piped answers do not echo: show them, so the dialog reads the same in a log. */
  private readonly echo: boolean;

  constructor(input: Readable, private readonly output: Writable) {
    this.echo = !(input as Readable & { isTTY?: boolean }).isTTY;
    const rl = createInterface({ input, terminal: false });
    this.lines = rl[Symbol.asyncIterator]();
  }

  say(text = ''): void {
    this.output.write(`${text}\n`);
  }

  /** Asks, and returns the answer trimmed; throws EndOfAnswers at the end of the input. */
  async ask(question: string): Promise<string> {
    this.output.write(question);
    const next = await this.lines.next();
    if (next.done) {
      this.output.write('\n');
      throw new EndOfAnswers();
    }
    if (this.echo) this.output.write(`${next.value}\n`);
    return next.value.trim();
  }

  async close(): Promise<void> {
    await this.lines.return?.();
  }
}
