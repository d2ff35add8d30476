from newsanno.cli import app

app(prog_name="newsanno")
