/**
 * Which resume token is safe to store when changes finish out of order: the token of the
 * last change of the longest prefix, in stream order, whose changes are all done. A
 * dispatcher restarted from it re-reads only changes that may not have been handled.
 */
export class StreamCheckpoint<Token> {
  private readonly tokens: Token[] = [];
  private readonly done: boolean[] = [];
  private head = 0;
  // Sequence number of the entry at `head`.
  private firstSeq = 0;

  /** Changes read and not yet passed by takeAdvance(): the dispatcher's read-ahead. */
  get outstanding(): number {
    return this.tokens.length - this.head;
  }

  /** Records a change just read; returns its sequence number for markDone. */
  add(token: Token): number {
    this.tokens.push(token);
    this.done.push(false);
    return this.firstSeq + this.outstanding - 1;
  }

  markDone(seq: number): void {
    const index = this.head + (seq - this.firstSeq);
    if (index < this.head || index >= this.done.length) throw new RangeError(`unknown change ${seq}`);
    this.done[index] = true;
  }

  /**
   * The token to store now, or undefined if the finished prefix has not grown since the
   * last call. The changes it covers are forgotten.
   */
  takeAdvance(): Token | undefined {
    let token: Token | undefined;
    while (this.head < this.done.length && this.done[this.head]) {
      token = this.tokens[this.head];
      this.tokens[this.head] = undefined as Token;
      this.head++;
      this.firstSeq++;
    }
    if (this.head >= 1024 && this.head * 2 >= this.tokens.length) {
      this.tokens.splice(0, this.head);
      this.done.splice(0, this.head);
      this.head = 0;
    }
    return token;
  }
}
