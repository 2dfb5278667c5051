package switchboard.supervision;

import java.nio.file.Files;
import java.nio.file.Path;

/** Where the project's own files (config/, bin/) are, seen from a test's working directory. */
final class Projects {
  private Projects() {}

  static Path root() {
    Path dir = Path.of("").toAbsolutePath();
    while (dir != null && !Files.isRegularFile(dir.resolve("config/gateway.conf"))) {
      dir = dir.getParent();
    }
    if (dir == null) {
      throw new IllegalStateException("project root with config/gateway.conf not found above " + Path.of("").toAbsolutePath());
    }
    return dir;
  }
}
