export interface QueryMatcher { x: number }
