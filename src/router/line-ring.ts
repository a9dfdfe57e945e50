// The last lines of a model process's output, bounded in bytes: enough to explain a failure, never a memory leak.
export class LineRing {
  private items: string[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  push(line: string): void {
    this.items.push(line);
    this.bytes += line.length + 1;
    while (this.bytes > this.maxBytes && this.head < this.items.length - 1) {
      this.bytes -= this.items[this.head]!.length + 1;
      this.head++;
    }
    // compact now and then, so the array does not keep dropped lines alive
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  lines(): string[] {
    return this.items.slice(this.head);
  }
}
