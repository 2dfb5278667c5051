package switchboard.providers.limits;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.function.IntPredicate;
import org.junit.jupiter.api.Test;
import switchboard.providers.config.ProviderConfig.KeyStrategy;

class KeyPickerTest {
  private static List<Integer> pick(KeyPicker picker, int times, IntPredicate usable) {
    List<Integer> picked = new ArrayList<>();
    for (int i = 0; i < times; i++) {
      picked.add(picker.next(usable).orElse(-1));
    }
    return picked;
  }

  @Test
  void roundRobinRotatesOverUsableKeys() {
    KeyPicker picker = new KeyPicker(KeyStrategy.ROUND_ROBIN, 3);
    assertEquals(List.of(0, 1, 2, 0), pick(picker, 4, k -> true));
    assertEquals(List.of(2, 0, 2), pick(picker, 3, k -> k != 1));
  }

  @Test
  void fillFirstStaysOnTheFirstUsableKey() {
    KeyPicker picker = new KeyPicker(KeyStrategy.FILL_FIRST, 3);
    assertEquals(List.of(0, 0, 0), pick(picker, 3, k -> true));
    assertEquals(List.of(1, 1), pick(picker, 2, k -> k != 0));
  }

  @Test
  void leastUsedBalancesCalls() {
    KeyPicker picker = new KeyPicker(KeyStrategy.LEAST_USED, 3);
    pick(picker, 4, k -> k == 0);
    assertEquals(List.of(1, 2, 1, 2), pick(picker, 4, k -> true));
    assertEquals(4, picker.uses(0));
  }

  @Test
  void noUsableKeyGivesNothing() {
    KeyPicker picker = new KeyPicker(KeyStrategy.ROUND_ROBIN, 2);
    assertTrue(picker.next(k -> false).isEmpty());
  }
}
