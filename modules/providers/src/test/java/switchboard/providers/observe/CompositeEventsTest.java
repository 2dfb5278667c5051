package switchboard.providers.observe;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import switchboard.providers.OutcomeKind;
import switchboard.providers.ProviderEvents;

class CompositeEventsTest {

  @Test
  void aFailingObserverNeitherThrowsNorSilencesTheOthers() {
    List<String> heard = new ArrayList<>();
    ProviderEvents broken =
        new ProviderEvents() {
          @Override
          public void call(CallRecord record) {
            throw new IllegalStateException("boom");
          }

          @Override
          public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
            throw new IllegalStateException("boom");
          }
        };
    ProviderEvents recorder =
        new ProviderEvents() {
          @Override
          public void call(CallRecord record) {
            heard.add("call " + record.status());
          }

          @Override
          public void breakerChanged(BreakerChange change) {
            heard.add("breaker " + change.to().wire());
          }

          @Override
          public void retryScheduled(String provider, OutcomeKind kind, Duration delay) {
            heard.add("retry " + kind.wire());
          }

          @Override
          public void refused(String provider, OutcomeKind kind, String reason) {
            heard.add("refused " + reason);
          }
        };

    ProviderEvents all = CompositeEvents.of(broken, recorder);
    all.call(Records.call("p", "p#1", 402, OutcomeKind.OUT_OF_CREDITS, Map.of()));
    all.breakerChanged(Records.open("p", java.util.Optional.empty(), OutcomeKind.OUT_OF_CREDITS, Records.T0));
    all.retryScheduled("p", OutcomeKind.UNAVAILABLE, Duration.ofSeconds(1));
    all.refused("p", OutcomeKind.OUT_OF_CREDITS, "breaker open");

    assertEquals(List.of("call 402", "breaker open", "retry unavailable", "refused breaker open"), heard);
  }
}
