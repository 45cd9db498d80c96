/** Connection slots for the enumeration (see probe/run.ts enumerate): pure, no sockets of its own. */

/**
 * A fixed number of connection slots shared by the enumeration's lanes: a lane takes one per connection and gives
 * it back when the connection is done. Waiters are served in order.
 */
export class Slots {
  private free: number;
  private readonly waiting: (() => void)[] = [];
  constructor(n: number) {
    this.free = n;
  }
  async take(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((r) => this.waiting.push(r));
    let given = false;
    return () => {
      if (given) return;
      given = true;
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}
