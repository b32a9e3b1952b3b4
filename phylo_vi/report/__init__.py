"""Report writers shared by the commands: self-contained HTML with embedded plots, TSV tables."""
from phylo_vi.report.html import HtmlReport
from phylo_vi.report.tables import write_tsv

__all__ = ["HtmlReport", "write_tsv"]
