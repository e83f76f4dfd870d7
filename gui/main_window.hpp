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

namespace trainsim::gui {

class ScenarioEditor;
class SummaryView;
class TimelineView;
class PlansView;
class TopologyView;

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
  // For --screenshot and tests: run and wait without an event loop of one's own.
  RunOutcome predictNow();
  RunOutcome searchNow();
  void showOutcome(const RunOutcome& outcome);
  // View names: summary, timeline, plans, topology, memory.
  QWidget* view(const QString& name) const;
  void showView(const QString& name);
  ScenarioEditor* editor() const { return editor_; }
  SummaryView* summary() const { return summary_; }
  QString statusText() const;

 signals:
  void predictionFinished();
  void searchFinished();

 private:
  void start(bool search);
  void finished();
  void exportView();
  void remember(const QString& path);
  void undo();
  void scenarioChanged();

  ScenarioEditor* editor_;
  QTabWidget* tabs_;
  SummaryView* summary_;
  TimelineView* timeline_;
  PlansView* plans_;
  TopologyView* topology_;
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
