/**
 * The typed name of a service one extension provides and others use (history's past
 * reads, typed boards...). `T` is the service's type: a lookup by the name is typed.
 */
export class Capability<T> {
  /** Carries `T` for the type checker only. */
  declare readonly service?: T;

  constructor(readonly name: string) {}
}

/**
 * The services extensions provide one another, each under its `Capability`, registered
 * in `init` and looked up when used; the node's `Services` never changes after start-up.
 */
export class Capabilities {
  private readonly provided = new Map<Capability<unknown>, unknown>();

  /** Registers `service` as the node's `capability`; a second provider is a start-up error. */
  provide<T>(capability: Capability<T>, service: T): void {
    if (this.provided.has(capability)) throw new Error(`${capability.name} is provided twice`);
    this.provided.set(capability, service);
  }

  /** The service registered as `capability`, or undefined when this node runs none. */
  get<T>(capability: Capability<T>): T | undefined {
    return this.provided.get(capability) as T | undefined;
  }
}
