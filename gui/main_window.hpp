#pragma once
// The trainsim window: the scenario editor on the left, the views on the right. Simulations and
// searches run on a worker thread with a progress bar and a cancel button; the window stays live.
#include <QFutureWatcher>
#include <QMainWindow>
#include <atomic>
#include <memory>

#include "report/prediction.hpp"
#include "search/search.hpp"

class QTabWidget;
class QProgressBar;
class QPushButton;
class QLabel;
class QTimer;
class QMenu;
class QSpinBox;

namespace trainsim::gui {

class ScenarioEditor;
class SummaryView;
class TimelineView;
class PlansView;
class TopologyView;
class CompareView;
class ValidationView;
struct ComparedRun;

struct RunOutcome {
  std::optional<Prediction> prediction;
  std::optional<SearchResult> search;
  QString error;
};

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(QWidget* parent = nullptr);
  ~MainWindow() override;
  bool openFile(const QString& path);
  bool saveFile(const QString& path);
  void runPrediction();
  void runSearch();
  // Stops a search (best plans so far) or drops a running prediction's result.
  void cancel();
  // For --screenshot and tests: run and wait without an event loop of one's own.
  RunOutcome predictNow();
  RunOutcome searchNow();
  void showOutcome(const RunOutcome& outcome);
  // Compare: adds a prediction of the editor's scenario, or of a scenario file (in the background;
  // the *Now forms wait, for --screenshot and tests).
  void compareCurrent();
  void compareFile(const QString& path);
  bool compareFilesNow(const QStringList& paths);
  // Validation: a trainsim-exec measurement against the prediction of the same job.
  void loadMeasurement(const QString& path);
  bool validateNow(const QString& path);
  // View names: summary, timeline, plans, topology, memory, compare, validation, and window (the
  // whole window: editor, summary, status bar).
  QWidget* view(const QString& name) const;
  void showView(const QString& name);
  ScenarioEditor* editor() const { return editor_; }
  CompareView* compareView() const { return compare_; }
  TopologyView* topologyView() const { return topology_; }
  ValidationView* validationView() const { return validation_; }
  // Writes the current view as PNG or SVG (by the file's extension).
  bool exportViewTo(const QString& path, QWidget* widget = nullptr);
  SummaryView* summary() const { return summary_; }
  QString statusText() const;

 signals:
  void predictionFinished();
  void searchFinished();
  void compareFinished();
  void validationFinished();

 private:
  void start(bool search);
  void finished();
  void exportView();
  // Predicts the entries in turn in the background and appends them to the comparison in order.
  void compareScenarios(const std::vector<std::pair<QString, Scenario>>& entries);
  std::pair<QString, Scenario> editorEntry() const;
  bool startsWithEditor() const;
  void remember(const QString& path);
  void undo();
  void scenarioChanged();

  ScenarioEditor* editor_;
  QTabWidget* tabs_;
  SummaryView* summary_;
  TimelineView* timeline_;
  QSpinBox* micro_batch_box_;
  int comparing_ = 0;  // comparisons being predicted in the background
  PlansView* plans_;
  TopologyView* topology_;
  CompareView* compare_;
  ValidationView* validation_;
  std::vector<ComparedRun> compared_;
  bool cancelled_ = false;
  QProgressBar* progress_;
  QPushButton* cancel_;
  QLabel* status_;
  QTimer* debounce_;
  QMenu* recent_;
  QString path_;
  std::vector<Scenario> history_;
  bool restoring_ = false;
  bool pending_ = false;
  QFutureWatcher<RunOutcome> watcher_;
  std::shared_ptr<std::atomic<bool>> cancel_flag_;
};

}  // namespace trainsim::gui
