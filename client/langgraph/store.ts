export class BlackboardStore {}
export interface BlackboardStoreOptions { board: string }
