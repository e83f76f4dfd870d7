// trainsim-gui [SCENARIO] [--screenshot FILE.png|FILE.svg --view VIEW] [--compare FILE ...] [--measured run.json]
// VIEW: summary, timeline, plans, topology, memory, compare, validation.
#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>
#include <cstdio>

#include "main_window.hpp"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName("trainsim-gui");
  QCommandLineParser parser;
  parser.setApplicationDescription("Explore training plans with the trainsim simulator");
  parser.addHelpOption();
  parser.addPositionalArgument("scenario", "Scenario file (YAML)");
  QCommandLineOption screenshot("screenshot", "Render a view to FILE.png and exit", "file");
  QCommandLineOption view("view",
                          "View for --screenshot: summary, timeline, plans, topology, memory, compare, validation",
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
