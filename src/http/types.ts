/** Where the HTTP endpoint listens, once it does (`broker.httpAddress()`). */
export interface HttpAddress {
  /** The address bound, as Node reports it (`"::"`, `"0.0.0.0"`, `"127.0.0.1"`). */
  readonly host: string;
  /** The port bound: the one asked for, or the one the OS chose for port 0. */
  readonly port: number;
  /** A base URL to reach it from this machine, e.g. `http://127.0.0.1:9464` (no trailing slash). */
  readonly url: string;
}

/** What `broker.httpAddress()` asks: the endpoint's address while it listens. */
export interface HttpAddressSource {
  address(): HttpAddress | undefined;
}
