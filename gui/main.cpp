// trainsim-gui [SCENARIO] [--screenshot FILE.png --view summary|timeline|plans|topology|memory]
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
  QCommandLineOption view("view", "View for --screenshot: summary, timeline, plans, topology, memory", "name", "summary");
  parser.addOption(screenshot);
  parser.addOption(view);
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
    window.showView(name);
    window.show();
    QApplication::processEvents();
    const bool saved = window.view(name)->grab().save(parser.value(screenshot));
    return saved ? 0 : 1;
  }
  window.show();
  if (!files.isEmpty()) QTimer::singleShot(0, &window, &trainsim::gui::MainWindow::runPrediction);
  return app.exec();
}
