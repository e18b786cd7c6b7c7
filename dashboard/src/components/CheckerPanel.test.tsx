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

  it('says when no checker has reported', () => {
    render(<CheckerPanel feed={emptyFeed} />);
    expect(screen.getByText(/no checker has reported/i)).toBeInTheDocument();
    expect(screen.queryByTestId('run-verdict')).toBeNull();
  });
});
