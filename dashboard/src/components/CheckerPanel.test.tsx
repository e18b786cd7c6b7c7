import { describe, expect, it } from 'vitest';
import { render, screen } from '@testing-library/react';
import { CheckerPanel } from './CheckerPanel';
import { applyEvent, emptyFeed, type FeedEvent } from '../feed';

describe('CheckerPanel', () => {
  it('shows each checker’s running verdict and the run’s once done', () => {
    const events: FeedEvent[] = [
      { kind: 'run', data: { mode: 'sim', scenario: 'pubsub-loses', state: 'running' } },
      { kind: 'check', data: { name: 'order', ok: true, violations: 0 } },
      { kind: 'check', data: { name: 'no-loss', ok: false, violations: 4, detail: '4 acked messages never delivered' } },
      { kind: 'run', data: { mode: 'sim', scenario: 'pubsub-loses', state: 'done', verdict: 'fail' } },
    ];
    render(<CheckerPanel feed={events.reduce(applyEvent, emptyFeed)} />);
    expect(screen.getByTestId('check-order')).toHaveTextContent('✓ holds');
    expect(screen.getByTestId('check-order')).toHaveClass('ok');
    const failed = screen.getByTestId('check-no-loss');
    expect(failed).toHaveClass('failed');
    expect(failed).toHaveTextContent('✗ violated');
    expect(failed).toHaveTextContent('4 acked messages never delivered');
    expect(screen.getByTestId('run-verdict')).toHaveTextContent('Run failed');
  });

  it('shows a check not yet judged as pending, then its verdict', () => {
    const pending: FeedEvent[] = [
      { kind: 'run', data: { mode: 'sim', scenario: 'node-restart', state: 'running' } },
      { kind: 'check', data: { name: 'no-loss', ok: false, violations: 0, pending: true, detail: 'judged once the run is quiet' } },
      { kind: 'check', data: { name: 'liveness', ok: false, violations: 0, pending: true, detail: 'judged when the run ends' } },
    ];
    const { rerender } = render(<CheckerPanel feed={pending.reduce(applyEvent, emptyFeed)} />);
    for (const name of ['no-loss', 'liveness']) {
      const row = screen.getByTestId(`check-${name}`);
      expect(row).toHaveTextContent('… pending');
      expect(row).not.toHaveTextContent('holds');
      expect(row).not.toHaveTextContent('violated');
      expect(row).toHaveClass('pending');
    }
    const judged = [...pending, { kind: 'check', data: { name: 'no-loss', ok: true, violations: 0 } } as FeedEvent];
    rerender(<CheckerPanel feed={judged.reduce(applyEvent, emptyFeed)} />);
    expect(screen.getByTestId('check-no-loss')).toHaveTextContent('✓ holds');
    expect(screen.getByTestId('check-liveness')).toHaveTextContent('… pending');
  });

  it('says when no checker has reported', () => {
    render(<CheckerPanel feed={emptyFeed} />);
    expect(screen.getByText(/no checker has reported/i)).toBeInTheDocument();
    expect(screen.queryByTestId('run-verdict')).toBeNull();
  });
});
