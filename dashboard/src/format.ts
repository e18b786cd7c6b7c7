// seconds formats a time in ms as the charts and the log show it.
export function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

// figure formats a rate or a latency: whole above 10, one decimal below.
export function figure(value: number): string {
  return value >= 10 ? value.toFixed(0) : value.toFixed(1);
}
