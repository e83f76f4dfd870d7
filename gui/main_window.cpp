#include "main_window.hpp"

#include <QAction>
#include <QApplication>
#include <QChartView>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QKeySequence>
#include <QLabel>
#include <QMenuBar>
#include <QPainter>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollArea>
#include <QSettings>
#include <QSpinBox>
#include <QSplitter>
#include <QStatusBar>
#include <QSvgGenerator>
#include <QTabWidget>
#include <QTimer>
#include <QToolBar>
#include <QVBoxLayout>
#include <QtConcurrent>
#include <fstream>

#include "compare_view.hpp"
#include "plans_view.hpp"
#include "report/measurement.hpp"
#include "scenario/units.hpp"
#include "scenario/writer.hpp"
#include "scenario_editor.hpp"
#include "summary_view.hpp"
#include "timeline_view.hpp"
#include "topology_view.hpp"
#include "validation_view.hpp"

namespace trainsim::gui {

namespace {

RunOutcome predict_outcome(const Scenario& sc) {
  RunOutcome outcome;
  try {
    SimulationOptions options;
    options.record_trace = true;
    options.record_link_load = true;
    outcome.prediction = predict(sc, options);
  } catch (const std::exception& e) {
    outcome.error = QString::fromStdString(e.what());
  }
  return outcome;
}

RunOutcome search_outcome(const Scenario& sc, std::shared_ptr<std::atomic<bool>> cancel,
                          std::function<void(int)> progress) {
  RunOutcome outcome;
  try {
    // Search the editor's model and cluster over the usual plan axes.
    PlanSpace space;
    space.base = sc;
    for (const char* key : {"tp", "pp", "micro_batch", "zero", "recompute", "sequence_parallel"}) {
      space.choices[key] = {};
    }
    space.choices["tp"] = {"1", "2", "4", "8"};
    space.choices["pp"] = {"1", "2", "4", "8", "16"};
    space.choices["micro_batch"] = {"1", "2", "4"};
    space.choices["zero"] = {"0", "1", "3"};
    space.choices["recompute"] = {"none", "selective", "full"};
    space.choices["sequence_parallel"] = {"false", "true"};
    SearchOptions options;
    options.top_k = 5;
    options.cancel = cancel.get();
    options.progress = [progress](const char*, std::size_t done, std::size_t total) {
      progress(total ? int(100 * done / total) : 100);
    };
    outcome.search = search_plans(space, options);
  } catch (const std::exception& e) {
    outcome.error = QString::fromStdString(e.what());
  }
  return outcome;
}

}  // namespace

MainWindow::MainWindow(QWidget* parent) : QMainWindow(parent) {
  setWindowTitle("trainsim");
  editor_ = new ScenarioEditor;
  auto* scroll = new QScrollArea;
  scroll->setWidget(editor_);
  scroll->setWidgetResizable(true);
  scroll->setMinimumWidth(340);
  tabs_ = new QTabWidget;
  summary_ = new SummaryView;
  timeline_ = new TimelineView;
  plans_ = new PlansView;
  topology_ = new TopologyView;
  auto* timeline_scroll = new QScrollArea;
  timeline_scroll->setWidget(timeline_);
  timeline_scroll->setWidgetResizable(true);
  // Above the chart: zoom to one micro-batch (its compute on every stage), or the whole step.
  auto* timeline_tab = new QWidget;
  auto* timeline_layout = new QVBoxLayout(timeline_tab);
  auto* zoom_row = new QHBoxLayout;
  micro_batch_box_ = new QSpinBox;
  micro_batch_box_->setRange(0, 0);
  micro_batch_box_->setPrefix(tr("micro-batch "));
  auto* zoom_in = new QPushButton(tr("Zoom to it"));
  auto* whole = new QPushButton(tr("Whole step"));
  connect(zoom_in, &QPushButton::clicked, this, [this] { timeline_->zoomToMicroBatch(micro_batch_box_->value()); });
  connect(whole, &QPushButton::clicked, timeline_, &TimelineView::zoomOut);
  zoom_row->addWidget(micro_batch_box_);
  zoom_row->addWidget(zoom_in);
  zoom_row->addWidget(whole);
  zoom_row->addWidget(new QLabel(tr("wheel: zoom, drag: pan, double-click: whole step")));
  zoom_row->addStretch();
  timeline_layout->addLayout(zoom_row);
  timeline_layout->addWidget(timeline_scroll);
  tabs_->addTab(summary_, tr("Summary"));
  tabs_->addTab(timeline_tab, tr("Timeline"));
  tabs_->addTab(plans_, tr("Plan space"));
  tabs_->addTab(topology_, tr("Topology"));
  compare_ = new CompareView;
  validation_ = new ValidationView;
  tabs_->addTab(compare_, tr("Compare"));
  tabs_->addTab(validation_, tr("Validation"));
  connect(compare_, &CompareView::addCurrentRequested, this, &MainWindow::compareCurrent);
  connect(compare_, &CompareView::addFileRequested, this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Add a scenario to compare"), QString(), tr("Scenarios (*.yaml *.yml)"));
    if (!path.isEmpty()) compareFile(path);
  });
  connect(compare_, &CompareView::clearRequested, this, [this] {
    compared_.clear();
    compare_->setRuns(compared_);
  });
  connect(validation_, &ValidationView::loadRequested, this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load a measurement"), QString(), tr("run.json (*.json)"));
    if (!path.isEmpty()) loadMeasurement(path);
  });
  auto* splitter = new QSplitter;
  splitter->addWidget(scroll);
  splitter->addWidget(tabs_);
  splitter->setStretchFactor(1, 1);
  setCentralWidget(splitter);

  progress_ = new QProgressBar;
  progress_->setMaximumWidth(200);
  progress_->hide();
  cancel_ = new QPushButton(tr("Cancel"));
  cancel_->hide();
  status_ = new QLabel;
  statusBar()->addWidget(status_, 1);
  statusBar()->addPermanentWidget(progress_);
  statusBar()->addPermanentWidget(cancel_);

  auto* file = menuBar()->addMenu(tr("&File"));
  file->addAction(tr("&Open..."), QKeySequence::Open, this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Open scenario"), QString(), tr("Scenarios (*.yaml *.yml)"));
    if (!path.isEmpty()) openFile(path);
  });
  recent_ = file->addMenu(tr("Open &recent"));
  file->addAction(tr("&Save"), QKeySequence::Save, this, [this] {
    QString path = path_;
    if (path.isEmpty())
      path = QFileDialog::getSaveFileName(this, tr("Save scenario"), QString(), tr("Scenarios (*.yaml)"));
    if (!path.isEmpty()) saveFile(path);
  });
  file->addAction(tr("Save &as..."), QKeySequence::SaveAs, this, [this] {
    const QString path = QFileDialog::getSaveFileName(this, tr("Save scenario"), QString(), tr("Scenarios (*.yaml)"));
    if (!path.isEmpty()) saveFile(path);
  });
  file->addAction(tr("&Export view..."), QKeySequence(tr("Ctrl+E")), this, &MainWindow::exportView);
  file->addAction(tr("Load &measurement..."), QKeySequence(tr("Ctrl+M")), this, [this] {
    const QString path =
        QFileDialog::getOpenFileName(this, tr("Load a measurement"), QString(), tr("run.json (*.json)"));
    if (!path.isEmpty()) loadMeasurement(path);
  });
  file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
  auto* edit = menuBar()->addMenu(tr("&Edit"));
  edit->addAction(tr("&Undo"), QKeySequence::Undo, this, &MainWindow::undo);
  auto* run = menuBar()->addMenu(tr("&Run"));
  run->addAction(tr("&Predict"), QKeySequence(Qt::Key_F5), this, &MainWindow::runPrediction);
  run->addAction(tr("&Search plans"), QKeySequence(Qt::Key_F6), this, &MainWindow::runSearch);
  run->addAction(tr("&Cancel"), QKeySequence(Qt::Key_Escape), this, [this] { cancel(); });
  auto* toolbar = addToolBar(tr("Run"));
  toolbar->addAction(tr("Predict (F5)"), this, &MainWindow::runPrediction);
  toolbar->addAction(tr("Search plans (F6)"), this, &MainWindow::runSearch);

  debounce_ = new QTimer(this);
  debounce_->setSingleShot(true);
  debounce_->setInterval(400);
  connect(debounce_, &QTimer::timeout, this, &MainWindow::runPrediction);
  connect(editor_, &ScenarioEditor::changed, this, &MainWindow::scenarioChanged);
  connect(cancel_, &QPushButton::clicked, this, [this] { cancel(); });
  connect(&watcher_, &QFutureWatcher<RunOutcome>::finished, this, &MainWindow::finished);
  connect(plans_, &PlansView::planSelected, this, [this](const PlanSpec& plan) {
    editor_->setPlan(plan);
    tabs_->setCurrentWidget(summary_);
  });

  QSettings settings("trainsim", "trainsim-gui");
  for (const auto& path : settings.value("recent").toStringList()) {
    recent_->addAction(path, this, [this, path] { openFile(path); });
  }
  resize(1400, 900);
}

MainWindow::~MainWindow() {
  if (cancel_flag_) *cancel_flag_ = true;
  watcher_.waitForFinished();
}

QString MainWindow::statusText() const { return status_->text(); }

bool MainWindow::openFile(const QString& path) {
  try {
    const Scenario sc = load_scenario(path.toStdString());
    path_ = path;
    editor_->setScenario(sc);
    topology_->setTopology(sc.cluster.topology, sc.cluster.gpus);
    setWindowTitle("trainsim - " + QFileInfo(path).fileName());
    remember(path);
    status_->setText(tr("Opened %1").arg(path));
    return true;
  } catch (const std::exception& e) {
    status_->setText(tr("Cannot open: %1").arg(QString::fromStdString(e.what())));
    return false;
  }
}

bool MainWindow::saveFile(const QString& path) {
  const std::string partial = path.toStdString() + ".partial";
  {
    std::ofstream out(partial);
    if (!out) {
      status_->setText(tr("Cannot write %1").arg(path));
      return false;
    }
    out << scenario_to_yaml(editor_->scenario());
  }
  std::rename(partial.c_str(), path.toStdString().c_str());
  path_ = path;
  remember(path);
  status_->setText(tr("Saved %1").arg(path));
  return true;
}

void MainWindow::remember(const QString& path) {
  QSettings settings("trainsim", "trainsim-gui");
  QStringList recent = settings.value("recent").toStringList();
  recent.removeAll(path);
  recent.prepend(QFileInfo(path).absoluteFilePath());
  while (recent.size() > 8) recent.removeLast();
  settings.setValue("recent", recent);
}

void MainWindow::scenarioChanged() {
  if (!restoring_) {
    history_.push_back(editor_->scenario());
    if (history_.size() > 100) history_.erase(history_.begin());
  }
  if (editor_->isValid())
    debounce_->start();
  else
    status_->setText(tr("The plan is not valid: see the editor."));
}

void MainWindow::undo() {
  if (history_.size() < 2) return;
  history_.pop_back();
  restoring_ = true;
  editor_->setScenario(history_.back());
  restoring_ = false;
}

void MainWindow::runPrediction() { start(false); }
void MainWindow::runSearch() { start(true); }

void MainWindow::start(bool search) {
  if (!editor_->isValid() && !search) {
    status_->setText(tr("The plan is not valid: see the editor."));
    return;
  }
  if (watcher_.isRunning()) {
    pending_ = true;  // run again with the latest fields once this one ends
    return;
  }
  const Scenario sc = editor_->scenario();
  cancel_flag_ = std::make_shared<std::atomic<bool>>(false);
  progress_->setRange(0, search ? 100 : 0);
  progress_->setValue(0);
  progress_->show();
  cancel_->setVisible(true);
  cancelled_ = false;
  status_->setText(search ? tr("Searching plans...") : tr("Simulating one step..."));
  if (search) {
    auto flag = cancel_flag_;
    QPointer<QProgressBar> bar = progress_;
    watcher_.setFuture(QtConcurrent::run([sc, flag, bar] {
      return search_outcome(sc, flag, [bar](int percent) {
        QMetaObject::invokeMethod(
            bar,
            [bar, percent] {
              if (bar) bar->setValue(percent);
            },
            Qt::QueuedConnection);
      });
    }));
  } else {
    watcher_.setFuture(QtConcurrent::run([sc] { return predict_outcome(sc); }));
  }
}

RunOutcome MainWindow::predictNow() { return predict_outcome(editor_->scenario()); }

RunOutcome MainWindow::searchNow() {
  return search_outcome(editor_->scenario(), std::make_shared<std::atomic<bool>>(false), [](int) {});
}

void MainWindow::finished() {
  progress_->hide();
  cancel_->hide();
  const RunOutcome outcome = watcher_.result();
  if (cancelled_ && outcome.prediction) {
    status_->setText(tr("Prediction cancelled"));
    if (pending_) {
      pending_ = false;
      runPrediction();
    }
    return;
  }
  showOutcome(outcome);
  if (outcome.search)
    emit searchFinished();
  else
    emit predictionFinished();
  if (pending_) {
    pending_ = false;
    runPrediction();
  }
}

void MainWindow::showOutcome(const RunOutcome& outcome) {
  if (!outcome.error.isEmpty()) {
    status_->setText(tr("Failed: %1").arg(outcome.error));
    return;
  }
  if (outcome.prediction) {
    const Prediction& p = *outcome.prediction;
    summary_->show(p, editor_->scenario());
    setWindowTitle("trainsim - " + scenario_header(editor_->scenario()));
    timeline_->setTrace(p.step.trace, p.step.step_time);
    micro_batch_box_->setRange(0, std::max(0, timeline_->microBatches() - 1));
    status_->setText(tr("Step %1, MFU %2")
                         .arg(QString::fromStdString(units::format_duration(p.step.step_time)))
                         .arg(QString::fromStdString(units::format_percent(p.mfu))));
  }
  if (outcome.search) {
    plans_->setPlans(outcome.search->plans, editor_->scenario().plan);
    status_->setText(tr("%1 plans ranked%2")
                         .arg(outcome.search->plans.size())
                         .arg(outcome.search->cancelled ? tr(" (cancelled: best so far)") : QString()));
  }
  const Scenario sc = editor_->scenario();
  if (outcome.prediction) {
    topology_->setTopology(sc.cluster.topology, sc.cluster.gpus, outcome.prediction->step.link_utilisation);
  } else if (!outcome.search) {
    topology_->setTopology(sc.cluster.topology, sc.cluster.gpus);
  }
}

QWidget* MainWindow::view(const QString& name) const {
  if (name == "summary") return summary_;
  if (name == "timeline") return timeline_;
  if (name == "plans") return plans_;
  if (name == "topology") return topology_;
  if (name == "memory") return summary_->memoryChart();
  if (name == "compare") return compare_;
  if (name == "validation") return validation_;
  if (name == "window") return const_cast<MainWindow*>(this);  // the editor and the current view
  return nullptr;
}

void MainWindow::showView(const QString& name) {
  if (name == "summary" || name == "memory" || name == "window") tabs_->setCurrentIndex(0);
  if (name == "timeline") tabs_->setCurrentIndex(1);
  if (name == "plans") tabs_->setCurrentIndex(2);
  if (name == "topology") tabs_->setCurrentIndex(3);
  if (name == "compare") tabs_->setCurrentIndex(4);
  if (name == "validation") tabs_->setCurrentIndex(5);
}

void MainWindow::cancel() {
  // A search stops at once (best plans so far); a single simulation cannot be interrupted inside
  // SimGrid, so its result is dropped and the window is free for the next one.
  if (cancel_flag_) *cancel_flag_ = true;
  if (watcher_.isRunning()) {
    cancelled_ = true;
    pending_ = false;
    progress_->hide();
    cancel_->hide();
    status_->setText(tr("Cancelling..."));
  }
}

void MainWindow::exportView() {
  const QString path =
      QFileDialog::getSaveFileName(this, tr("Export view"), QString(), tr("PNG image (*.png);;SVG drawing (*.svg)"));
  if (!path.isEmpty() && !exportViewTo(path)) status_->setText(tr("Cannot write %1").arg(path));
}

bool MainWindow::exportViewTo(const QString& path, QWidget* widget) {
  if (!widget) widget = tabs_->currentWidget();
  if (path.endsWith(".svg", Qt::CaseInsensitive)) {
    QSvgGenerator svg;
    svg.setFileName(path);
    svg.setSize(widget->size());
    svg.setViewBox(QRect(QPoint(0, 0), widget->size()));
    svg.setTitle(QStringLiteral("trainsim"));
    QPainter painter;
    if (!painter.begin(&svg)) return false;
    widget->render(&painter);
    return painter.end();
  }
  return widget->grab().save(path);
}

namespace {

std::optional<ComparedRun> compared_run(const QString& label, const Scenario& sc, QString* error) {
  try {
    return ComparedRun{label, sc, predict(sc)};
  } catch (const std::exception& e) {
    *error = QString::fromStdString(e.what());
    return std::nullopt;
  }
}

}  // namespace

void MainWindow::compareCurrent() {
  if (!editor_->isValid()) {
    status_->setText(tr("The plan is not valid: see the editor."));
    return;
  }
  compareScenarios({editorEntry()});
}

// The editor's scenario as a comparison entry, labelled with its plan.
std::pair<QString, Scenario> MainWindow::editorEntry() const {
  const Scenario sc = editor_->scenario();
  return {QString("%1 (tp %2 pp %3 dp %4)")
              .arg(QString::fromStdString(sc.name))
              .arg(sc.plan.tp)
              .arg(sc.plan.pp)
              .arg(sc.plan.dp),
          sc};
}

// A comparison starts with the editor's plan: the first scenario added to an empty one brings it.
// (Nor while a comparison is being predicted: that one may already hold it.)
bool MainWindow::startsWithEditor() const { return compared_.empty() && comparing_ == 0 && editor_->isValid(); }

void MainWindow::compareScenarios(const std::vector<std::pair<QString, Scenario>>& entries) {
  status_->setText(tr("Predicting %1 for the comparison...").arg(entries.back().first));
  ++comparing_;
  using Result = std::pair<std::vector<ComparedRun>, QString>;
  auto* watcher = new QFutureWatcher<Result>(this);
  connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher] {
    const auto [runs, error] = watcher->result();
    watcher->deleteLater();
    --comparing_;
    compared_.insert(compared_.end(), runs.begin(), runs.end());
    compare_->setRuns(compared_);
    if (!error.isEmpty()) {
      status_->setText(tr("Failed: %1").arg(error));
      return;
    }
    status_->setText(tr("%1 plans compared").arg(compared_.size()));
    emit compareFinished();
  });
  watcher->setFuture(QtConcurrent::run([entries] {
    Result result;
    for (const auto& [label, sc] : entries) {
      auto run = compared_run(label, sc, &result.second);
      if (!run) break;
      result.first.push_back(*run);
    }
    return result;
  }));
}

void MainWindow::compareFile(const QString& path) {
  Scenario sc;
  try {
    sc = load_scenario(path.toStdString());
  } catch (const InputError& e) {
    status_->setText(tr("Cannot compare: %1").arg(QString::fromStdString(e.what())));
    return;
  }
  std::vector<std::pair<QString, Scenario>> entries;
  if (startsWithEditor()) entries.push_back(editorEntry());
  entries.emplace_back(QString::fromStdString(sc.name), sc);
  compareScenarios(entries);
}

bool MainWindow::compareFilesNow(const QStringList& paths) {
  if (!paths.isEmpty() && startsWithEditor()) {
    QString error;
    const auto [label, sc] = editorEntry();
    auto run = compared_run(label, sc, &error);
    if (!run) {
      status_->setText(tr("Cannot compare the editor's plan: %1").arg(error));
      return false;
    }
    compared_.push_back(*run);
  }
  for (const QString& path : paths) {
    QString error;
    try {
      const Scenario sc = load_scenario(path.toStdString());
      auto run = compared_run(QString::fromStdString(sc.name), sc, &error);
      if (!run) throw std::runtime_error(error.toStdString());
      compared_.push_back(*run);
    } catch (const std::exception& e) {
      status_->setText(tr("Cannot compare %1: %2").arg(path, QString::fromStdString(e.what())));
      compare_->setRuns(compared_);  // what was added before stays shown
      return false;
    }
  }
  compare_->setRuns(compared_);
  return true;
}

namespace {

// The prediction for the job a measurement describes, as JSON; throws InputError.
nlohmann::json validation_prediction(Scenario sc, const nlohmann::json& run, const std::string& path) {
  apply_measurement(sc, run, path);
  return prediction_json(predict(sc));
}

nlohmann::json read_measurement(const QString& path) {
  QFile file(path);
  if (!file.open(QIODevice::ReadOnly)) throw InputError({path.toStdString(), 0, 0}, "", "cannot open the measurement");
  return parse_measurement(file.readAll().toStdString(), path.toStdString());
}

}  // namespace

void MainWindow::loadMeasurement(const QString& path) {
  nlohmann::json run;
  try {
    run = read_measurement(path);
  } catch (const InputError& e) {
    status_->setText(tr("Cannot load the measurement: %1").arg(QString::fromStdString(e.what())));
    return;
  }
  const Scenario sc = editor_->scenario();
  status_->setText(tr("Predicting the measured job..."));
  auto* watcher = new QFutureWatcher<std::pair<nlohmann::json, QString>>(this);
  connect(watcher, &QFutureWatcherBase::finished, this, [this, watcher, run, path] {
    const auto [predicted, error] = watcher->result();
    watcher->deleteLater();
    if (!error.isEmpty()) {
      status_->setText(tr("Cannot validate: %1").arg(error));
      return;
    }
    validation_->setComparison(tr("%1 against %2 (%3)")
                                   .arg(QString::fromStdString(predicted.value("scenario", std::string())), path,
                                        QString::fromStdString(run.value("device", std::string("?")))),
                               predicted, run);
    tabs_->setCurrentWidget(validation_);
    status_->setText(tr("Measurement loaded"));
    emit validationFinished();
  });
  watcher->setFuture(QtConcurrent::run([sc, run, path] {
    try {
      return std::make_pair(validation_prediction(sc, run, path.toStdString()), QString());
    } catch (const std::exception& e) {
      return std::make_pair(nlohmann::json(), QString::fromStdString(e.what()));
    }
  }));
}

bool MainWindow::validateNow(const QString& path) {
  try {
    const nlohmann::json run = read_measurement(path);
    const nlohmann::json predicted = validation_prediction(editor_->scenario(), run, path.toStdString());
    validation_->setComparison(
        tr("%1 against %2").arg(QString::fromStdString(predicted.value("scenario", std::string())), path), predicted,
        run);
    return true;
  } catch (const std::exception& e) {
    status_->setText(tr("Cannot validate: %1").arg(QString::fromStdString(e.what())));
    return false;
  }
}

}  // namespace trainsim::gui
