"""What etl and analytics share, below both: neither imports the other, both import this."""
