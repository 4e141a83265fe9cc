"""What the reader sees: the report site (render, charts, page data, formatters), README numbers."""
