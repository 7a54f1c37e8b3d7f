from socialpulse.cli import main

main()
