import type { Component, ComponentState, FeedState } from '../feed';
import { activeBands, faultBands, type FaultBand } from '../faultBands';
import { nowMs } from '../feed';

const width = 640;
const height = 300;
const boxWidth = 96;
const boxHeight = 50;
const rows = { balancer: 50, nodes: 150, redis: 255 };

interface Box {
  name: string;
  x: number; // centre
  y: number;
  state: ComponentState | 'unknown';
  detail?: string;
}

// linkFaults are the faults in force on the link between a and b: a
// partition seen by either end, or a fault whose target names the link
// ("n1-redis", "balancer-n1").
function linkFaults(a: string, b: string, components: Record<string, Component>, active: FaultBand[]): string[] {
  const marks: string[] = [];
  if (components[a]?.partitioned_from?.includes(b) || components[b]?.partitioned_from?.includes(a)) {
    marks.push('cut');
  }
  for (const band of active) {
    if (band.target === `${a}-${b}` || band.target === `${b}-${a}`) {
      const action = band.label.split(' ')[0];
      if (action === 'partition' && !marks.includes('cut')) {
        marks.push('cut');
      } else if (action !== 'partition') {
        marks.push(action);
      }
    }
  }
  return marks;
}

function Link({ from, to, marks, dim }: { from: Box; to: Box; marks: string[]; dim: boolean }) {
  const cut = marks.includes('cut');
  const className = ['link', cut ? 'cut' : '', marks.length && !cut ? 'faulty' : '', dim ? 'dim' : ''].join(' ').trim();
  const midX = (from.x + to.x) / 2;
  const midY = (from.y + to.y) / 2;
  return (
    <g className={className} data-testid={`link-${from.name}-${to.name}`}>
      <line x1={from.x} y1={from.y} x2={to.x} y2={to.y} />
      {cut && (
        <text className="cut-mark" x={midX} y={midY + 5} textAnchor="middle">
          ✕
        </text>
      )}
      {marks
        .filter((mark) => mark !== 'cut')
        .map((mark, i) => (
          <text key={mark} className="link-label" x={midX + 6} y={midY - 4 + i * 12}>
            {mark}
          </text>
        ))}
    </g>
  );
}

function ComponentBox({ box }: { box: Box }) {
  return (
    <g className={`component ${box.state}`} data-testid={`component-${box.name}`} data-state={box.state}>
      <rect x={box.x - boxWidth / 2} y={box.y - boxHeight / 2} width={boxWidth} height={boxHeight} rx={8} />
      <text className="name" x={box.x} y={box.y - 6} textAnchor="middle">
        {box.name}
      </text>
      <text className="state" x={box.x} y={box.y + 9} textAnchor="middle">
        {box.state}
        {box.detail ? ` · ${box.detail}` : ''}
      </text>
    </g>
  );
}

// ClusterMap draws the balancer above the nodes and Redis below, with the
// faults in force drawn on the links.
export function ClusterMap({ feed }: { feed: FeedState }) {
  const topology = feed.topology;
  if (!topology) {
    return (
      <section className="panel map">
        <h2>Cluster</h2>
        <p className="muted">Waiting for the topology…</p>
      </section>
    );
  }
  const connections = feed.stats.at(-1)?.connections ?? {};
  const stateOf = (name: string) => feed.components[name]?.state ?? 'unknown';
  const spacing = width / (topology.nodes.length + 1);
  const nodes: Box[] = topology.nodes.map((name, i) => ({
    name,
    x: spacing * (i + 1),
    y: rows.nodes,
    state: stateOf(name),
    detail: connections[name] !== undefined ? `${connections[name]} conn` : undefined,
  }));
  const balancer: Box | null = topology.balancer
    ? { name: topology.balancer, x: width / 2, y: rows.balancer, state: stateOf(topology.balancer) }
    : null;
  const redis: Box | null = topology.redis
    ? { name: topology.redis, x: width / 2, y: rows.redis, state: stateOf(topology.redis) }
    : null;
  const now = nowMs(feed);
  const active = activeBands(faultBands(feed.faults, now, 1), now);
  const isDown = (box: Box) => box.state === 'down' || box.state === 'paused';
  return (
    <section className="panel map">
      <h2>Cluster</h2>
      <svg viewBox={`0 0 ${width} ${height}`} role="img" aria-label="cluster map">
        {nodes.map((node) => (
          <g key={node.name}>
            {balancer && (
              <Link
                from={balancer}
                to={node}
                marks={linkFaults(balancer.name, node.name, feed.components, active)}
                dim={isDown(balancer) || isDown(node)}
              />
            )}
            {redis && (
              <Link
                from={node}
                to={redis}
                marks={linkFaults(node.name, redis.name, feed.components, active)}
                dim={isDown(node) || isDown(redis)}
              />
            )}
          </g>
        ))}
        {balancer && <ComponentBox box={balancer} />}
        {nodes.map((node) => (
          <ComponentBox key={node.name} box={node} />
        ))}
        {redis && <ComponentBox box={redis} />}
      </svg>
    </section>
  );
}
