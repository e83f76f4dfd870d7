// trainsim-gui [SCENARIO] [--screenshot FILE.png|FILE.svg --view VIEW] [--compare FILE ...] [--measured run.json]
// VIEW: summary, timeline, plans, topology, memory, compare, validation, window.
// Without a display (no DISPLAY, WAYLAND_DISPLAY or QT_QPA_PLATFORM) it says so and exits 2
// rather than letting Qt abort on the xcb plugin.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "main_window.hpp"

namespace {
bool set(const char* name) {
  const char* value = std::getenv(name);
  return value && *value;
}
}  // namespace

int main(int argc, char** argv) {
#if defined(Q_OS_LINUX)
  if (!set("DISPLAY") && !set("WAYLAND_DISPLAY") && !set("QT_QPA_PLATFORM")) {
    bool help = false;
    for (int i = 1; i < argc; ++i) {
      help =
          help || !std::strcmp(argv[i], "--help") || !std::strcmp(argv[i], "-h") || !std::strcmp(argv[i], "--help-all");
    }
    if (!help) {
      std::fprintf(stderr,
                   "trainsim-gui: no display (DISPLAY and WAYLAND_DISPLAY are not set).\n"
                   "Run it in a desktop session, or without a screen, e.g. for --screenshot:\n"
                   "  QT_QPA_PLATFORM=offscreen trainsim-gui SCENARIO --screenshot view.png --view window\n");
      return 2;
    }
    setenv("QT_QPA_PLATFORM", "offscreen", 1);  // --help needs no screen
  }
#endif
  QApplication app(argc, argv);
  QApplication::setApplicationName("trainsim-gui");
  QCommandLineParser parser;
  parser.setApplicationDescription("Explore training plans with the trainsim simulator");
  parser.addHelpOption();
  parser.addPositionalArgument("scenario", "Scenario file (YAML)");
  QCommandLineOption screenshot("screenshot", "Render a view to FILE.png and exit", "file");
  QCommandLineOption view("view",
                          "View for --screenshot: summary, timeline, plans, topology, memory, compare, validation, "
                          "window (the whole window with the editor)",
                          "name", "summary");
  QCommandLineOption compare("compare", "Add a scenario file to the Compare view (repeatable)", "file");
  QCommandLineOption measured("measured", "Load a trainsim-exec measurement into the Validation view", "file");
  parser.addOption(screenshot);
  parser.addOption(view);
  parser.addOption(compare);
  parser.addOption(measured);
  parser.process(app);

  trainsim::gui::MainWindow window;
  const QStringList files = parser.positionalArguments();
  if (!files.isEmpty() && !window.openFile(files.first())) {
    std::fprintf(stderr, "trainsim-gui: %s\n", window.statusText().toLocal8Bit().constData());
    if (parser.isSet(screenshot)) return 2;
  }
  if (parser.isSet(screenshot)) {
    const QString name = parser.value(view);
    if (!window.view(name)) {
      std::fprintf(stderr, "trainsim-gui: unknown view %s\n", name.toLocal8Bit().constData());
      return 2;
    }
    window.showOutcome(name == "plans" ? window.searchNow() : window.predictNow());
    if (parser.isSet(compare) && !window.compareFilesNow(parser.values(compare))) {
      std::fprintf(stderr, "trainsim-gui: %s\n", window.statusText().toLocal8Bit().constData());
      return 2;
    }
    if (parser.isSet(measured) && !window.validateNow(parser.value(measured))) {
      std::fprintf(stderr, "trainsim-gui: %s\n", window.statusText().toLocal8Bit().constData());
      return 2;
    }
    window.showView(name);
    window.show();
    QApplication::processEvents();
    return window.exportViewTo(parser.value(screenshot), window.view(name)) ? 0 : 1;
  }
  window.show();
  for (const QString& file : parser.values(compare)) window.compareFile(file);
  if (parser.isSet(measured)) window.loadMeasurement(parser.value(measured));
  if (!files.isEmpty()) QTimer::singleShot(0, &window, &trainsim::gui::MainWindow::runPrediction);
  return app.exec();
}
