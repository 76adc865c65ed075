"""The PDF report. No Qt: it runs headless from the command line too."""
