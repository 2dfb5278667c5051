package switchboard.providers.observe;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;

/**
 * Hands every provider event to several observers (call log, metrics, alerts). Each observer is
 * called on its own inside a try/catch: an observer that throws is logged and skipped, so a broken
 * metrics or alert hook can never fail a provider actor or keep the other observers from hearing.
 */
public final class CompositeEvents implements ProviderEvents {
  private static final Logger LOG = LoggerFactory.getLogger(CompositeEvents.class);

  private final List<ProviderEvents> observers;

  private CompositeEvents(List<ProviderEvents> observers) {
    this.observers = List.copyOf(observers);
  }

  /** All of {@code observers}, in order. */
  public static ProviderEvents of(ProviderEvents... observers) {
    return of(List.of(observers));
  }

  /** All of {@code observers}, in order. */
  public static ProviderEvents of(List<ProviderEvents> observers) {
    return new CompositeEvents(observers);
  }

  @Override
  public void call(CallRecord record) {
    each("call", o -> o.call(record));
  }

  @Override
  public void breakerChanged(BreakerChange change) {
    each("breakerChanged", o -> o.breakerChanged(change));
  }

  @Override
  public void breakerApplied(BreakerChange change) {
    each("breakerApplied", o -> o.breakerApplied(change));
  }

  @Override
  public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
    each("retryScheduled", o -> o.retryScheduled(provider, kind, delay));
  }

  @Override
  public void refused(String provider, OutcomeKind kind, String reason) {
    each("refused", o -> o.refused(provider, kind, reason));
  }

  @Override
  public void reset(String provider, Optional<String> keyAlias, String by, int closed) {
    each("reset", o -> o.reset(provider, keyAlias, by, closed));
  }

  private void each(String event, Consumer<ProviderEvents> action) {
    for (ProviderEvents observer : observers) {
      try {
        action.accept(observer);
      } catch (RuntimeException e) {
        LOG.warn("provider event observer {} failed on {}: {}", observer.getClass().getSimpleName(), event, e.toString());
      }
    }
  }
}
