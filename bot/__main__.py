from bot.root.cli import main

main()
