package switchboard.supervision;

import com.typesafe.config.ConfigList;
import com.typesafe.config.ConfigObject;
import com.typesafe.config.ConfigUtil;
import com.typesafe.config.ConfigValue;
import com.typesafe.config.ConfigValueType;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

/**
 * Finds keys a user wrote under {@code switchboard} that no module knows: a typo like
 * {@code max-retires} would otherwise be ignored silently and the default used. The known keys are
 * those of the merged {@code reference.conf} files; each entry of {@code switchboard.providers} is
 * compared with {@code switchboard.provider-defaults}. Each problem names the closest known key.
 */
final class UnknownKeys {

  private UnknownKeys() {}

  /**
   * Problems for every key of {@code actual} (the user's tree merged over the reference) that is not
   * in {@code known} (the reference alone). Both are the {@code switchboard} objects.
   */
  static List<String> find(ConfigObject actual, ConfigObject known) {
    List<String> problems = new ArrayList<>();
    walk(actual, known, "switchboard", problems);
    ConfigValue providers = actual.get("providers");
    ConfigValue defaults = known.get("provider-defaults");
    if (providers instanceof ConfigList list && defaults instanceof ConfigObject defaultKeys) {
      for (int i = 0; i < list.size(); i++) {
        if (list.get(i) instanceof ConfigObject entry) {
          walk(entry, defaultKeys, "switchboard.providers[" + i + "]", problems);
        }
      }
    }
    return problems;
  }

  private static void walk(ConfigObject actual, ConfigObject known, String path, List<String> problems) {
    for (String key : new TreeSet<>(actual.keySet())) {
      String full = path + "." + (key.matches("[A-Za-z0-9_-]+") ? key : ConfigUtil.quoteString(key));
      ConfigValue knownValue = known.get(key);
      if (knownValue == null) {
        problems.add(full + ": is not a known key" + hint(key, known.keySet()));
        continue;
      }
      ConfigValue value = actual.get(key);
      if (full.equals("switchboard.routes")) {
        continue; // its keys are the operator's model names, checked by ModelRoutes
      }
      if (value.valueType() == ConfigValueType.OBJECT && knownValue.valueType() == ConfigValueType.OBJECT) {
        walk((ConfigObject) value, (ConfigObject) knownValue, full, problems);
      }
    }
  }

  /** " (did you mean x?)" for a close sibling, else the known siblings when they are few. */
  static String hint(String key, Set<String> siblings) {
    Optional<String> closest =
        siblings.stream()
            .filter(s -> distance(key, s) <= Math.max(2, s.length() / 3))
            .min(Comparator.comparingInt((String s) -> distance(key, s)).thenComparing(s -> s));
    if (closest.isPresent()) {
      return " (did you mean " + closest.get() + "?)";
    }
    if (!siblings.isEmpty() && siblings.size() <= 12) {
      return " (expected one of " + String.join(", ", new TreeSet<>(siblings)) + ")";
    }
    return "";
  }

  /** Levenshtein distance, case-insensitive. */
  static int distance(String a, String b) {
    String x = a.toLowerCase(java.util.Locale.ROOT);
    String y = b.toLowerCase(java.util.Locale.ROOT);
    int[] previous = new int[y.length() + 1];
    int[] current = new int[y.length() + 1];
    for (int j = 0; j <= y.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= x.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= y.length(); j++) {
        int cost = x.charAt(i - 1) == y.charAt(j - 1) ? 0 : 1;
        current[j] = Math.min(Math.min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[y.length()];
  }
}
