from qstash_emulator.cli import main

main()
