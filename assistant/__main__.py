from assistant.apps.cli import main

main()
